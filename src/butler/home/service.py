"""Home control for one person's turn: what they may see, finding, reading and acting,
and actions that wait for their yes. The person always comes from the turn.

Every failure is a HomeError whose message is a sentence the person can hear.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from butler.config import HomeAssistantSettings
from butler.db.pool import connection
from butler.home import targets
from butler.home.actions import Request, ServiceCall, describe_state, service_for
from butler.home.client import HomeAssistantClient
from butler.home.connection import Chosen, SavedConnection
from butler.home.errors import HomeCommandFailed, HomeError, HomeNotConfigured, HomeUnavailable
from butler.home.exposure import ExposureStore
from butler.home.permissions import permissions_of
from butler.home.registry import Entity, HomeRegistry
from butler.secret_box import SecretBox
from butler.users.models import User

log = logging.getLogger(__name__)
ClientFactory = Callable[[str, str], HomeAssistantClient]
HEARD_ACTION_SECONDS = 30.0  # a planned voice action not carried out by then never is
WATCH_SECONDS = 5.0  # how soon other processes follow a connection saved in the app

MAX_TARGETS = 50  # devices in one action
_YES_WORDS = frozenset(["yes", "yeah", "yep", "yup", "sure", "confirm", "confirmed", "ok", "okay"])
_YES_PHRASES = frozenset(["do it", "go ahead", "please do", "do it please", "go on"])
_NO_WORDS = frozenset(["no", "not", "don't", "dont", "stop", "cancel", "wait", "nope"])
_WORD = re.compile(r"[a-z']+")


def is_yes(text: str) -> bool:
    said = _WORD.findall(text.lower())
    if not said or len(said) > 6 or _NO_WORDS.intersection(said):
        return False
    return said[0] in _YES_WORDS or " ".join(said) in _YES_PHRASES


class NeedsConfirmation(HomeError):
    """The action waits for the person's yes in their next turn."""

    code = "home_needs_confirmation"
    status = 409


@dataclass(frozen=True)
class Done:
    said: str  # what happened, as a sentence
    entity_ids: tuple[str, ...]


class HomeService:
    """The home for every turn, with the connection in force. The connection can change
    while Butler runs: an admin saves one in the app (this process applies it at once,
    the others within WATCH_SECONDS), and the registry and client are then replaced."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: HomeAssistantSettings,
        connections: SavedConnection,
        *,
        make_client: ClientFactory | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.connections = connections
        self.registry = HomeRegistry()
        self.client: HomeAssistantClient | None = None
        self.chosen = Chosen("none")
        self.exposure = ExposureStore(pool)
        self.confirm_seconds = settings.confirm_seconds
        self.clock = clock
        self._make_client = make_client or self._client_for
        self._applying = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None

    def _client_for(self, url: str, token: str) -> HomeAssistantClient:
        return HomeAssistantClient(url, token, self.registry, timeout=self.settings.timeout_seconds)

    @property
    def configured(self) -> bool:
        return self.client is not None

    async def start(self) -> None:
        try:
            await self.reload()
        except (asyncpg.PostgresError, OSError) as exc:  # the watcher tries again
            log.warning("could not read the saved Home Assistant connection: %s", exc)
        if self.chosen.source != "settings":
            self._watcher = asyncio.create_task(self._watch(), name="home-connection-watch")

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._use(Chosen("none"))

    async def reload(self) -> None:
        """Use the connection now chosen (settings, or what the app saved)."""
        async with self._applying:
            await self._use(await self.connections.choose(self.settings))

    async def _use(self, chosen: Chosen) -> None:
        current = self.chosen
        self.chosen = chosen
        if (chosen.url, chosen.token) == (current.url, current.token) and (
            self.client is not None or chosen.token is None
        ):
            return
        old, self.client = self.client, None
        if old is not None:
            await old.stop()
        self.registry.clear()
        if chosen.url and chosen.token:
            self.client = self._make_client(chosen.url, chosen.token)
            self.client.start()
            log.info("Home Assistant: connecting to %s (set in the %s)", chosen.url, chosen.source)

    async def _watch(self) -> None:
        """Another process may save or remove the connection: follow its stamp."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                if await self.connections.stamp() != self.chosen.stamp:
                    await self.reload()
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("could not check the saved Home Assistant connection: %s", exc)

    def status(self) -> dict[str, Any]:
        client, chosen = self.client, self.chosen
        if client is None:
            state = "unreadable" if chosen.problem else "not_configured"
            found: dict[str, Any] = {"configured": False, "state": state, "source": chosen.source}
            return found | ({"url": chosen.url, "error": chosen.problem} if chosen.problem else {})
        return {
            "configured": True,
            "state": client.state.value,
            "source": chosen.source,
            "url": chosen.url,
            "version": client.ha_version,
            "error": client.last_error,
            "entities": len(self.registry.entities()),
        }

    def _require_client(self) -> HomeAssistantClient:
        if self.client is None:
            raise HomeNotConfigured("Home Assistant is not set up, so I can't control the home.")
        return self.client

    async def visible(self, user: User) -> list[Entity]:
        """Exposed entities the person may control, in the live picture."""
        self._require_client()
        await self.exposure.refresh()
        async with connection(self.pool) as conn:
            allowed = await permissions_of(conn, user.id)
        return [
            e for e in self.registry.entities() if self.exposure.of(e).exposed and allowed.allows(e)
        ]

    async def find(self, user: User, text: str, area: str = "") -> list[Entity]:
        return targets.find(await self.visible(user), self.registry.areas.values(), text, area)

    async def entity(self, user: User, entity_id: str) -> Entity:
        """One entity the person may use, or a HomeError saying why not."""
        entity = self.registry.entity(entity_id)
        if entity is None:
            raise HomeCommandFailed(f"There is no device called {entity_id}.")
        await self.exposure.refresh()
        if not self.exposure.of(entity).exposed:
            raise HomeCommandFailed(f"{entity.name} is not available to me.")
        async with connection(self.pool) as conn:
            if not (await permissions_of(conn, user.id)).allows(entity):
                raise HomeCommandFailed(f"You don't have permission to use {entity.name}.")
        return entity

    async def read(self, user: User, entity_id: str) -> str:
        self._require_client()
        return describe_state(await self.entity(user, entity_id))

    async def act(
        self, user: User, entity_ids: Sequence[str], request: Request, *, confirmed: bool = False
    ) -> Done:
        client = self._require_client()
        entities, calls = await self._checked(user, entity_ids, request, confirmed=confirmed)
        # One call per kind of call (six kitchen lights: one round trip, not six).
        grouped: dict[str, tuple[ServiceCall, list[str]]] = {}
        for entity, call in calls:
            key = f"{call.domain}.{call.service}:{sorted(call.data.items())}"
            grouped.setdefault(key, (call, []))[1].append(entity.entity_id)
        for call, ids in grouped.values():
            await client.call_service(call.domain, call.service, ids, call.data)
        return Done(_said(entities, request), tuple(e.entity_id for e in entities))

    async def _checked(
        self, user: User, entity_ids: Sequence[str], request: Request, *, confirmed: bool
    ) -> tuple[list[Entity], list[tuple[Entity, ServiceCall]]]:
        """The entities and their calls, once everything that can refuse has had its say."""
        self._require_client()
        if not entity_ids:
            raise HomeCommandFailed("Which device? Nothing was named.")
        if len(entity_ids) > MAX_TARGETS:
            raise HomeCommandFailed(f"That is too many devices at once (at most {MAX_TARGETS}).")
        entities = [await self.entity(user, i) for i in dict.fromkeys(entity_ids)]
        calls = [(e, service_for(e, request)) for e in entities]
        unavailable = [e.name for e in entities if not e.available]
        if unavailable:
            raise HomeUnavailable(f"{', '.join(unavailable)} is unavailable right now.")
        if not confirmed and any(self.exposure.of(e).needs_confirmation for e in entities):
            question = _question(entities, request)
            await self._hold(user.id, [e.entity_id for e in entities], request, question)
            raise NeedsConfirmation(question)
        return entities, calls

    # -- actions carried out once the reply is heard ------------------------------

    async def plan_until_heard(
        self, user: User, entity_ids: Sequence[str], request: Request
    ) -> tuple[uuid.UUID, Done]:
        """Check an action and keep it for `carry_out`: a voice reply is prepared at the
        speaker's first pause, and only the worker knows when the turn really ended."""
        entities, _ = await self._checked(user, entity_ids, request, confirmed=False)
        action_id = uuid.uuid4()
        ids = [e.entity_id for e in entities]
        action = _stored(ids, request)
        async with connection(self.pool) as conn:
            await conn.execute(
                "DELETE FROM butler.home_heard_actions WHERE expires_at < $1", self.clock()
            )
            await conn.execute(
                """INSERT INTO butler.home_heard_actions (id, user_id, action, expires_at)
                   VALUES ($1, $2, $3, $4)""",
                action_id,
                user.id,
                action,
                self.clock() + timedelta(seconds=HEARD_ACTION_SECONDS),
            )
        return action_id, Done(_said(entities, request), tuple(ids))

    async def carry_out(self, user: User, action_id: uuid.UUID) -> Done:
        """The planned action, once: a second call (or another person's) finds nothing."""
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                """DELETE FROM butler.home_heard_actions WHERE id = $1 AND user_id = $2
                   RETURNING action, expires_at""",
                action_id,
                user.id,
            )
        if row is None or row["expires_at"] <= self.clock():
            raise HomeCommandFailed("That request is no longer waiting: please ask again.")
        ids, request = _unstored(row["action"])
        return await self.act(user, ids, request)

    # -- actions that wait for a yes ---------------------------------------------

    async def _hold(
        self, user_id: uuid.UUID, entity_ids: list[str], request: Request, question: str
    ) -> None:
        action = _stored(entity_ids, request)
        expires = self.clock() + timedelta(seconds=self.confirm_seconds)
        async with connection(self.pool) as conn:
            await conn.execute(
                """INSERT INTO butler.home_pending_actions (user_id, action, question, expires_at)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (user_id) DO UPDATE
                   SET action = $2, question = $3, expires_at = $4""",
                user_id,
                action,
                question,
                expires,
            )

    async def take_pending(self, user_id: uuid.UUID) -> tuple[list[str], Request] | None:
        """The person's action waiting for a yes, removed; None if none or expired."""
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                """DELETE FROM butler.home_pending_actions WHERE user_id = $1
                   RETURNING action, expires_at""",
                user_id,
            )
        if row is None or row["expires_at"] <= self.clock():
            return None
        return _unstored(row["action"])

    async def has_pending(self, user_id: uuid.UUID) -> bool:
        async with connection(self.pool) as conn:
            found = await conn.fetchval(
                "SELECT expires_at FROM butler.home_pending_actions WHERE user_id = $1", user_id
            )
        return found is not None and found > self.clock()

    async def answer_pending(self, user: User, text: str) -> Done | None:
        """If an action waits for this person: a yes runs it (Done), anything else drops
        it (None, and the turn goes on as usual)."""
        if not await self.has_pending(user.id):
            return None
        pending = await self.take_pending(user.id)
        if pending is None or not is_yes(text):
            return None
        entity_ids, request = pending
        return await self.act(user, entity_ids, request, confirmed=True)


def _stored(entity_ids: Sequence[str], request: Request) -> dict[str, Any]:
    return {
        "entity_ids": list(entity_ids),
        "action": request.action,
        "value": request.value,
        "text": request.text,
    }


def _unstored(action: dict[str, Any]) -> tuple[list[str], Request]:
    request = Request(action["action"], action.get("value"), action.get("text"))
    return list(action["entity_ids"]), request


_VERBS = {
    "turn_on": ("Turn on", "on"),
    "turn_off": ("Turn off", "off"),
    "toggle": ("Toggle", "toggled"),
    "open": ("Open", "opening"),
    "close": ("Close", "closing"),
    "stop": ("Stop", "stopped"),
    "lock": ("Lock", "locked"),
    "unlock": ("Unlock", "unlocked"),
    "activate": ("Activate", "activated"),
    "play": ("Play", "playing"),
    "pause": ("Pause", "paused"),
}


def _names(entities: Sequence[Entity]) -> str:
    names = [e.name for e in entities]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _question(entities: Sequence[Entity], request: Request) -> str:
    verb = _VERBS.get(request.action, (request.action.replace("_", " ").capitalize(), ""))[0]
    return f"{verb} {_names(entities)}?"


def _said(entities: Sequence[Entity], request: Request) -> str:
    names, many = _names(entities), len(entities) > 1
    if request.action in _VERBS:
        return f"{names} {'are' if many else 'is'} {_VERBS[request.action][1]}."
    value = f"{request.value:g}" if request.value is not None else (request.text or "")
    what = {
        "set_brightness": f"brightness set to {value}%",
        "set_color": f"set to {value}",
        "set_temperature": f"set to {value} degrees",
        "set_hvac_mode": f"set to {value.replace('_', ' ')}",
        "set_position": f"set to {value}%",
        "set_volume": f"volume set to {value}%",
    }.get(request.action, "done")
    return f"{names}: {what}."


def open_home(
    settings: HomeAssistantSettings, pool: asyncpg.Pool, box: SecretBox | None
) -> HomeService:
    """The home as configured; `start()` connects to the settings' or the saved one."""
    return HomeService(pool, settings, SavedConnection(pool, box))
