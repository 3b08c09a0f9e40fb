"""A long-lived connection to Home Assistant's WebSocket API.

It authenticates, loads the registries and states into a HomeRegistry, subscribes to
state changes (and registry updates, which reload the registries), and reconnects with
a growing pause (min(tries, 5) s) when the link drops. A refused token stops it: retrying
cannot help, and an admin must fix it. Commands in flight when the link drops fail at
once with HomeUnavailable rather than hang. Ids strictly increase: each is assigned and
sent under one lock, as the server requires.

The socket comes from a factory (`open_socket`), so tests can swap the transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, Protocol

import aiohttp

from butler.home.errors import HomeCommandFailed, HomeError, HomeRefused, HomeUnavailable
from butler.home.registry import HomeRegistry

log = logging.getLogger(__name__)

REGISTRY_EVENTS = (
    "area_registry_updated",
    "floor_registry_updated",
    "device_registry_updated",
    "entity_registry_updated",
)
_RELOAD_AFTER = 0.5  # registry events come in bursts: reload once they settle
_MAX_BACKOFF = 5.0


class Socket(Protocol):
    async def send(self, text: str) -> None: ...

    async def receive(self) -> str | None:
        """The next text frame, or None once the socket is closed."""
        ...

    async def close(self) -> None: ...


SocketFactory = Callable[[str], Awaitable[Socket]]


class _AiohttpSocket:
    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._session, self._ws = session, ws

    async def send(self, text: str) -> None:
        await self._ws.send_str(text)

    async def receive(self) -> str | None:
        message = await self._ws.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            return str(message.data)
        if message.type == aiohttp.WSMsgType.BINARY:
            return bytes(message.data).decode()
        return None

    async def close(self) -> None:
        await self._ws.close()
        await self._session.close()


async def open_aiohttp_socket(url: str, connect_seconds: float = 10.0) -> Socket:
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, connect=connect_seconds)
    )
    try:
        # get_states of a large home exceeds aiohttp's 4 MB default: no frame limit.
        ws = await session.ws_connect(url, max_msg_size=0, heartbeat=30, autoping=True)
    except BaseException:
        await session.close()
        raise
    return _AiohttpSocket(session, ws)


def websocket_url(url: str) -> str:
    base = url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base if base.endswith("/api/websocket") else base + "/api/websocket"


class LinkState(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RETRYING = "retrying"
    REFUSED = "refused"  # the token was refused: an admin must set a new one


async def authenticate(socket: Socket, token: str, seconds: float) -> str:
    """Home Assistant's handshake; the server's version on success."""
    async with asyncio.timeout(seconds):
        first = await _receive_json(socket)
        if first.get("type") != "auth_required":
            raise HomeUnavailable("That address does not answer like Home Assistant.")
        await socket.send(json.dumps({"type": "auth", "access_token": token}))
        answer = await _receive_json(socket)
    if answer.get("type") == "auth_ok":
        return str(answer.get("ha_version", "unknown"))
    if answer.get("type") == "auth_invalid":
        raise HomeRefused("Home Assistant refused the access token.")
    raise HomeUnavailable("Home Assistant answered the sign-in unexpectedly.")


async def _receive_json(socket: Socket) -> dict[str, Any]:
    text = await socket.receive()
    if text is None:
        raise HomeUnavailable("Home Assistant closed the connection.")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise HomeUnavailable("Home Assistant answered the sign-in unexpectedly.")
    return value


class HomeAssistantClient:
    def __init__(
        self,
        url: str,
        token: str,
        registry: HomeRegistry,
        *,
        timeout: float = 10.0,
        open_socket: SocketFactory | None = None,
    ) -> None:
        self.url = websocket_url(url)
        self._token = token
        self.registry = registry
        self.timeout = timeout
        self._open_socket = open_socket or (lambda u: open_aiohttp_socket(u, timeout))
        self.state = LinkState.STOPPED
        self.last_error: str | None = None
        self.ha_version: str | None = None
        self.connected_at: float | None = None
        self._socket: Socket | None = None
        self._next_id = 1
        self._send_lock = asyncio.Lock()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: dict[int, Callable[[dict[str, Any]], None]] = {}
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reload: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.listeners: list[Callable[[], None]] = []  # called after each (re)load

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="home-assistant")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._reload is not None:
            self._reload.cancel()
        for background in list(self._background):
            background.cancel()
        self.state = LinkState.STOPPED

    async def wait_connected(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    @property
    def connected(self) -> bool:
        return self.state == LinkState.CONNECTED

    async def _run(self) -> None:
        tries = 0
        while True:
            self.state = LinkState.CONNECTING if tries == 0 else LinkState.RETRYING
            try:
                await self._connect_once()
                tries = 0
            except HomeRefused as exc:
                self.state, self.last_error = LinkState.REFUSED, exc.message
                log.error("Home Assistant: %s An admin must set a new token.", exc.message)
                return
            except (HomeError, OSError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                self.last_error = _describe(exc)
                log.warning("Home Assistant unreachable at %s: %s", self.url, self.last_error)
            except Exception as exc:  # an answer we could not read: keep trying, say so
                self.last_error = f"unexpected answer: {type(exc).__name__}"
                log.exception("Home Assistant at %s answered unexpectedly", self.url)
            tries += 1
            self.state = LinkState.RETRYING
            await asyncio.sleep(min(float(tries), _MAX_BACKOFF))

    async def _connect_once(self) -> None:
        socket = await self._open_socket(self.url)
        reader: asyncio.Task[None] | None = None
        try:
            self.ha_version = await authenticate(socket, self._token, self.timeout)
            self._socket = socket
            reader = asyncio.create_task(self._read(socket))
            await self._load(subscribe=True)
            self.state, self.last_error = LinkState.CONNECTED, None
            self.connected_at = time.time()
            self._connected.set()
            log.info("Home Assistant %s connected at %s", self.ha_version, self.url)
            await reader
            raise HomeUnavailable("Home Assistant closed the connection.")
        finally:
            self._connected.clear()
            self._socket = None
            if reader is not None:
                reader.cancel()
            self._fail_pending(HomeUnavailable("The connection to Home Assistant dropped."))
            with contextlib.suppress(Exception):
                await socket.close()

    # -- commands -----------------------------------------------------------------

    async def command(self, type_: str, **fields: Any) -> Any:
        """Send one command and return its result; HomeError on failure or timeout."""
        command_id, future = await self._send(type_, fields)
        return await self._answer(command_id, future)

    async def _send(self, type_: str, fields: dict[str, Any]) -> tuple[int, asyncio.Future[Any]]:
        socket = self._socket
        if socket is None:
            raise HomeUnavailable(self._unavailable_reason())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        async with self._send_lock:
            command_id = self._next_id
            self._next_id += 1
            self._pending[command_id] = future
            try:
                await socket.send(json.dumps({"id": command_id, "type": type_, **fields}))
            except Exception as exc:
                self._pending.pop(command_id, None)
                raise HomeUnavailable("The connection to Home Assistant dropped.") from exc
        return command_id, future

    async def _answer(self, command_id: int, future: asyncio.Future[Any]) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError as exc:
            raise HomeUnavailable("Home Assistant did not answer in time.") from exc
        finally:
            self._pending.pop(command_id, None)

    async def call_service(
        self, domain: str, service: str, entity_ids: list[str], data: dict[str, Any] | None = None
    ) -> None:
        await self.command(
            "call_service",
            domain=domain,
            service=service,
            target={"entity_id": entity_ids},
            service_data=data or {},
        )

    async def _subscribe(self, event_type: str, handler: Callable[[dict[str, Any]], None]) -> None:
        command_id, future = await self._send("subscribe_events", {"event_type": event_type})
        self._subscriptions[command_id] = handler  # before the answer: events may follow it
        await self._answer(command_id, future)

    def _unavailable_reason(self) -> str:
        if self.state == LinkState.REFUSED:
            return "Home Assistant refused my access token; an admin needs to set a new one."
        return "I can't reach Home Assistant right now."

    # -- loading ------------------------------------------------------------------

    async def _load(self, *, subscribe: bool) -> None:
        if subscribe:
            # Subscribe first, so no change between the snapshot and the stream is lost.
            self._subscriptions.clear()
            await self._subscribe("state_changed", self.registry.apply_state_changed)
            for event_type in REGISTRY_EVENTS:
                await self._subscribe(event_type, lambda _: self._schedule_reload())
        await self._load_registries()
        self.registry.load_states(await self.command("get_states"))
        for listener in self.listeners:
            listener()

    async def _load_registries(self) -> None:
        areas, floors, devices, entities = await asyncio.gather(
            self.command("config/area_registry/list"),
            self._optional("config/floor_registry/list"),  # floors came in HA 2024.4
            self.command("config/device_registry/list"),
            self.command("config/entity_registry/list"),
        )
        self.registry.load_registries(
            areas=areas, floors=floors, devices=devices, entities=entities
        )
        wanted = [e["entity_id"] for e in entities if not e.get("disabled_by")]
        if wanted:
            # Aliases are only in the extended entries.
            extended = await self._optional(
                "config/entity_registry/get_entries", entity_ids=wanted, default={}
            )
            if isinstance(extended, dict):
                self.registry.add_aliases(
                    {k: (v or {}).get("aliases") or () for k, v in extended.items()}
                )

    async def _optional(self, type_: str, default: Any = None, **fields: Any) -> Any:
        try:
            return await self.command(type_, **fields)
        except HomeCommandFailed:
            return [] if default is None else default

    def _schedule_reload(self) -> None:
        if self._reload is not None:
            self._reload.cancel()

        def reload() -> None:
            task = asyncio.create_task(self._reload_registries())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

        self._reload = asyncio.get_running_loop().call_later(_RELOAD_AFTER, reload)

    async def _reload_registries(self) -> None:
        try:
            await self._load(subscribe=False)
        except HomeError as exc:
            log.warning("Home Assistant: could not reload the registries: %s", exc.message)

    # -- reading ------------------------------------------------------------------

    async def _read(self, socket: Socket) -> None:
        while (text := await socket.receive()) is not None:
            try:
                value = json.loads(text)
            except ValueError:
                log.warning("Home Assistant sent a frame that is not JSON")
                continue
            # With coalesced messages a frame holds a JSON array of messages.
            for message in value if isinstance(value, list) else [value]:
                if isinstance(message, dict):
                    self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, message_id = message.get("type"), message.get("id")
        if kind == "result":
            future = self._pending.get(message_id) if isinstance(message_id, int) else None
            if future is None or future.done():
                return
            if message.get("success"):
                future.set_result(message.get("result"))
            else:
                error = message.get("error") or {}
                future.set_exception(
                    HomeCommandFailed(
                        str(error.get("message") or "Home Assistant refused the command."),
                        code="home_command_failed",
                    )
                )
                future.exception()  # retrieved here, so an abandoned one is not logged
        elif kind == "event" and isinstance(message_id, int):
            handler = self._subscriptions.get(message_id)
            if handler is not None:
                handler((message.get("event") or {}).get("data") or {})

    def _fail_pending(self, error: HomeError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
                future.exception()
        self._pending.clear()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, HomeError):
        return exc.message
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


async def check_connection(
    url: str, token: str, *, seconds: float = 10.0, open_socket: SocketFactory | None = None
) -> str:
    """Sign in once and return Home Assistant's version (HomeError says what failed)."""
    opener = open_socket or (lambda u: open_aiohttp_socket(u, seconds))
    try:
        async with asyncio.timeout(seconds):
            socket = await opener(websocket_url(url))
    except (OSError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise HomeUnavailable(f"Could not reach Home Assistant at {url}: {_describe(exc)}") from exc
    try:
        return await authenticate(socket, token, seconds)
    except TimeoutError as exc:
        raise HomeUnavailable("Home Assistant did not answer the sign-in in time.") from exc
    finally:
        with contextlib.suppress(Exception):
            await socket.close()
