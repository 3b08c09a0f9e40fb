"""A local server speaking Home Assistant's WebSocket and REST APIs, as documented:
the auth handshake, the registry commands, `get_states`, `subscribe_events` (with
`state_changed` events), `call_service` (which changes states as a real home would), and
`GET /api/` and `POST /api/services/<domain>/<service>` over REST.

It runs in a thread with its own event loop; `go_away()` and `come_back()` stop and
restart it on the same port, as a restarting Home Assistant would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from butler.home.registry import HomeRegistry
from tests.support import free_port

TOKEN = "test-home-assistant-token"
VERSION = "2026.11.3"


@dataclass
class House:
    areas: list[dict[str, Any]] = field(default_factory=list)
    floors: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def area(self, area_id: str, name: str, *aliases: str, floor: str | None = None) -> None:
        self.areas.append(
            {"area_id": area_id, "name": name, "aliases": list(aliases), "floor_id": floor}
        )

    def entity(
        self,
        entity_id: str,
        name: str,
        state: str,
        *,
        area: str | None = None,
        device_area: str | None = None,
        aliases: tuple[str, ...] = (),
        **attributes: Any,
    ) -> None:
        device_id = None
        if device_area is not None:
            device_id = f"device-{len(self.devices)}"
            self.devices.append({"id": device_id, "name": name, "area_id": device_area})
        self.entities.append(
            {
                "entity_id": entity_id,
                "name": None,
                "original_name": name,
                "area_id": area,
                "device_id": device_id,
                "disabled_by": None,
                "hidden_by": None,
                "entity_category": None,
                "platform": "demo",
                "_aliases": list(aliases),
            }
        )
        self.states[entity_id] = _state(entity_id, state, {"friendly_name": name, **attributes})

    def registry(self) -> HomeRegistry:
        """The live picture Butler's client would build of this house."""
        registry = HomeRegistry()
        public = [{k: v for k, v in e.items() if not k.startswith("_")} for e in self.entities]
        registry.load_registries(
            areas=self.areas, floors=self.floors, devices=self.devices, entities=public
        )
        registry.add_aliases({e["entity_id"]: e["_aliases"] for e in self.entities})
        registry.load_states(self.states.values())
        return registry


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _state(entity_id: str, state: str, attributes: dict[str, Any]) -> dict[str, Any]:
    now = _now()
    return {
        "entity_id": entity_id,
        "state": state,
        "attributes": attributes,
        "last_changed": now,
        "last_updated": now,
        "context": {"id": "x", "parent_id": None, "user_id": None},
    }


def family_house() -> House:
    """The tests' home: a kitchen, a living room, a bedroom, a hall and a garage."""
    house = House()
    house.floors.append({"floor_id": "ground", "name": "Ground floor", "aliases": [], "level": 0})
    house.floors.append({"floor_id": "upstairs", "name": "Upstairs", "aliases": [], "level": 1})
    house.area("kitchen", "Kitchen", floor="ground")
    house.area("living_room", "Living Room", "Lounge", floor="ground")
    house.area("bedroom", "Bedroom", floor="upstairs")
    house.area("hall", "Hall", "Hallway", floor="ground")
    house.area("garage", "Garage", floor="ground")
    house.entity("light.kitchen_ceiling", "Kitchen Ceiling", "on", area="kitchen", brightness=255)
    house.entity("light.kitchen_counter", "Counter Lights", "on", device_area="kitchen")
    house.entity("light.living_room_lamp", "Reading Lamp", "off", area="living_room")
    house.entity("light.bedroom", "Bedroom Light", "off", area="bedroom")
    house.entity(
        "climate.bedroom",
        "Bedroom Thermostat",
        "heat",
        area="bedroom",
        aliases=("bedroom heating",),
        temperature=19,
        current_temperature=18.5,
        min_temp=7,
        max_temp=30,
        hvac_modes=["off", "heat", "auto"],
    )
    house.entity(
        "sensor.bedroom_temperature",
        "Bedroom Temperature",
        "18.5",
        area="bedroom",
        unit_of_measurement="°C",
        device_class="temperature",
    )
    house.entity("lock.front_door", "Front Door", "locked", area="hall")
    house.entity("cover.garage_door", "Garage Door", "closed", area="garage", device_class="garage")
    house.entity("switch.coffee_machine", "Coffee Machine", "off", area="kitchen")
    house.entity("media_player.living_room_tv", "Living Room TV", "paused", area="living_room")
    house.entity("camera.porch", "Porch Camera", "idle", area="hall")  # hidden by default
    return house


class FakeHomeAssistant:
    def __init__(self, house: House | None = None, token: str = TOKEN) -> None:
        self.house = house or family_house()
        self.token = token
        self.port = free_port()
        self.calls: list[tuple[str, str, list[str], dict[str, Any]]] = []
        self.logins = 0
        self.refused_logins = 0
        self.coalesce = False  # send every message inside a JSON array, as HA may
        self._sockets: set[web.WebSocketResponse] = set()
        self._subscribers: dict[web.WebSocketResponse, dict[str, int]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- running --------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[FakeHomeAssistant]:
        self._thread.start()
        self.come_back()
        try:
            yield self
        finally:
            self.go_away()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def come_back(self) -> None:
        self._run(self._start())

    def go_away(self) -> None:
        """Close every connection and stop listening (Home Assistant restarting)."""
        self._run(self._stop())

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/websocket", self._websocket)
        app.router.add_get("/api/", self._rest_ping)
        app.router.add_get("/api/states", self._rest_states)
        app.router.add_post("/api/services/{domain}/{service}", self._rest_service)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what tests look at and change ------------------------------------------

    def state(self, entity_id: str) -> dict[str, Any]:
        return self._run(self._get_state(entity_id))  # type: ignore[no-any-return]

    async def _get_state(self, entity_id: str) -> dict[str, Any]:
        return json.loads(json.dumps(self.house.states[entity_id]))  # type: ignore[no-any-return]

    def set_state(self, entity_id: str, state: str, **attributes: Any) -> None:
        """A change made outside Butler (a wall switch): subscribers hear of it."""
        self._run(self._change(entity_id, state, attributes))

    def calls_to(self, entity_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(d, s, data) for d, s, ids, data in self.calls if entity_id in ids]

    # -- the protocol -------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await ws.send_json({"type": "auth_required", "ha_version": VERSION})
            auth = await ws.receive_json(timeout=10)
            if auth.get("type") != "auth" or auth.get("access_token") != self.token:
                self.refused_logins += 1
                await ws.send_json({"type": "auth_invalid", "message": "Invalid access token"})
                await ws.close()
                return ws
            self.logins += 1
            await ws.send_json({"type": "auth_ok", "ha_version": VERSION})
            self._subscribers[ws] = {}
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                await self._command(ws, json.loads(message.data))
        finally:
            self._sockets.discard(ws)
            self._subscribers.pop(ws, None)
        return ws

    async def _command(self, ws: web.WebSocketResponse, msg: dict[str, Any]) -> None:
        kind, command_id = msg.get("type"), msg.get("id")

        async def result(value: Any = None) -> None:
            await self._send(
                ws, {"id": command_id, "type": "result", "success": True, "result": value}
            )

        async def error(code: str, text: str) -> None:
            await self._send(
                ws,
                {
                    "id": command_id,
                    "type": "result",
                    "success": False,
                    "error": {"code": code, "message": text},
                },
            )

        house = self.house
        public = [{k: v for k, v in e.items() if not k.startswith("_")} for e in house.entities]
        if kind == "config/area_registry/list":
            await result(house.areas)
        elif kind == "config/floor_registry/list":
            await result(house.floors)
        elif kind == "config/device_registry/list":
            await result(house.devices)
        elif kind == "config/entity_registry/list":
            await result(public)
        elif kind == "config/entity_registry/get_entries":
            wanted = set(msg.get("entity_ids") or [])
            await result(
                {
                    e["entity_id"]: {
                        **{k: v for k, v in e.items() if not k.startswith("_")},
                        "aliases": e["_aliases"],
                    }
                    for e in house.entities
                    if e["entity_id"] in wanted
                }
            )
        elif kind == "get_states":
            await result(list(house.states.values()))
        elif kind == "subscribe_events":
            self._subscribers[ws][msg.get("event_type") or "*"] = command_id  # type: ignore[assignment]
            await result(None)
        elif kind == "call_service":
            ids = (msg.get("target") or {}).get("entity_id") or []
            ids = [ids] if isinstance(ids, str) else list(ids)
            missing = [i for i in ids if i not in house.states]
            if missing:
                await error("not_found", f"Entity {missing[0]} not found")
                return
            try:
                await self._service(
                    msg["domain"], msg["service"], ids, msg.get("service_data") or {}
                )
            except ValueError as exc:
                await error("service_validation_error", str(exc))
                return
            await result({"context": {"id": "x"}})
        elif kind == "ping":
            await self._send(ws, {"id": command_id, "type": "pong"})
        else:
            await error("unknown_command", f"Unknown command {kind}")

    async def _service(
        self, domain: str, service: str, ids: list[str], data: dict[str, Any]
    ) -> None:
        self.calls.append((domain, service, ids, data))
        for entity_id in ids:
            current = self.house.states[entity_id]
            state, attributes = _effect(domain, service, current, data)
            await self._change(entity_id, state, attributes)

    async def _change(self, entity_id: str, state: str, attributes: dict[str, Any]) -> None:
        old = self.house.states[entity_id]
        new = _state(entity_id, state, {**old["attributes"], **attributes})
        self.house.states[entity_id] = new
        event = {
            "event_type": "state_changed",
            "data": {"entity_id": entity_id, "old_state": old, "new_state": new},
            "origin": "LOCAL",
            "time_fired": _now(),
        }
        await self._publish("state_changed", event)

    async def _publish(self, event_type: str, event: dict[str, Any]) -> None:
        for ws, subscriptions in list(self._subscribers.items()):
            subscription = subscriptions.get(event_type)
            if subscription is not None and not ws.closed:
                await self._send(ws, {"id": subscription, "type": "event", "event": event})

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        await ws.send_json([message] if self.coalesce else message)

    def rename(self, entity_id: str, name: str, *aliases: str) -> None:
        """An admin renamed an entity in Home Assistant: subscribers hear of it."""
        self._run(self._rename(entity_id, name, aliases))

    async def _rename(self, entity_id: str, name: str, aliases: tuple[str, ...]) -> None:
        for entry in self.house.entities:
            if entry["entity_id"] == entity_id:
                entry["name"], entry["_aliases"] = name, list(aliases)
        data = {"action": "update", "entity_id": entity_id, "changes": {"name": None}}
        await self._publish(
            "entity_registry_updated", {"event_type": "entity_registry_updated", "data": data}
        )

    # -- REST ---------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _rest_ping(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response({"message": "API running."})

    async def _rest_states(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response(list(self.house.states.values()))

    async def _rest_service(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        body = await request.json()
        ids = body.pop("entity_id", [])
        ids = [ids] if isinstance(ids, str) else list(ids)
        await self._service(request.match_info["domain"], request.match_info["service"], ids, body)
        return web.json_response([self.house.states[i] for i in ids])


def _effect(
    domain: str, service: str, current: dict[str, Any], data: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The state a real integration would report after the call."""
    state = current["state"]
    if service in ("turn_on", "turn_off", "toggle") and domain != "scene":
        on = service == "turn_on" or (service == "toggle" and state == "off")
        attributes: dict[str, Any] = {}
        if "brightness_pct" in data:
            attributes["brightness"] = round(int(data["brightness_pct"]) * 255 / 100)
        if "color_name" in data:
            attributes["color_name"] = data["color_name"]
        return ("on" if on else "off"), attributes
    effects: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
        ("lock", "lock"): ("locked", {}),
        ("lock", "unlock"): ("unlocked", {}),
        ("cover", "open_cover"): ("open", {"current_position": 100}),
        ("cover", "close_cover"): ("closed", {"current_position": 0}),
        ("media_player", "media_play"): ("playing", {}),
        ("media_player", "media_pause"): ("paused", {}),
        ("scene", "turn_on"): (_now(), {}),
    }
    if (domain, service) in effects:
        return effects[(domain, service)]
    if (domain, service) == ("climate", "set_temperature"):
        return state, {"temperature": data["temperature"]}
    if (domain, service) == ("climate", "set_hvac_mode"):
        return data["hvac_mode"], {}
    if (domain, service) == ("cover", "set_cover_position"):
        position = int(data["position"])
        return ("open" if position else "closed"), {"current_position": position}
    if (domain, service) == ("media_player", "volume_set"):
        return state, {"volume_level": data["volume_level"]}
    raise ValueError(f"Service {domain}.{service} not found")
