"""Test helpers shared by the suites: settings, a live API server, account helpers."""

from __future__ import annotations

import asyncio
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import uvicorn
from py_vapid import Vapid02

from butler.api.server import uvicorn_config
from butler.auth import invites
from butler.config import (
    AgentSettings,
    AuthSettings,
    HomeAssistantSettings,
    LiveKitSettings,
    LLMSettings,
    MemorySettings,
    RemindersSettings,
    Settings,
    WeatherSettings,
    WhatsAppSettings,
)
from butler.db.pool import init_connection
from butler.tools.base import Tool
from butler.users.models import Role

T = TypeVar("T")

JWT_SECRET = "test-jwt-secret-" + "x" * 60
LIVEKIT_KEY = "test-livekit-key"
LIVEKIT_SECRET = "test-livekit-secret-" + "y" * 40
PASSWORD = "correct horse battery staple"
# One VAPID key for every API server of a test run, as servers sharing a database share
# their secrets (browsers' push subscriptions are tied to the key).
_VAPID = Vapid02()
_VAPID.generate_keys()
VAPID_PRIVATE_KEY = _VAPID.private_pem().decode()
# Nothing listens on the discard port: voice is configured but unavailable.
DEAD_LIVEKIT_URL = "ws://127.0.0.1:9"
DEAD_URL = "http://127.0.0.1:9"


def make_settings(
    data_dir: Path,
    *,
    llm: dict[str, Any] | None = None,
    memory: dict[str, Any] | None = None,
    livekit: LiveKitSettings | None = None,
    home_assistant: dict[str, Any] | None = None,
    reminders: dict[str, Any] | None = None,
    weather: dict[str, Any] | None = None,
    whatsapp: dict[str, Any] | None = None,
    **auth: Any,
) -> Settings:
    """Test settings. Learning is off unless `memory` turns it on: its background model
    calls would otherwise take replies scripted for the test's own turns. Without
    `livekit` (a running server's settings), the LiveKit URL is one where nothing
    answers."""
    auth_values: dict[str, Any] = {
        "jwt_secret": JWT_SECRET,
        "rate_limit_per_ip": 100_000,
        "rate_limit_per_username": 100_000,
        **auth,
    }
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        auth=AuthSettings(**auth_values),
        livekit=livekit
        or LiveKitSettings(url=DEAD_LIVEKIT_URL, api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET),
        llm=LLMSettings(**(llm or {})),
        agent=AgentSettings(keepalive_seconds=0.5),
        memory=MemorySettings(**{"learning": False, **(memory or {})}),
        home_assistant=HomeAssistantSettings(**(home_assistant or {})),
        # Nothing leaves 127.0.0.0/8: without a local Open-Meteo, nothing answers.
        weather=WeatherSettings(
            **{"forecast_url": DEAD_URL, "geocoding_url": DEAD_URL, **(weather or {})}
        ),
        whatsapp=WhatsAppSettings(**(whatsapp or {})),
        # The tests' push service listens on 127.0.0.1; reminders are looked for often.
        reminders=RemindersSettings(
            **{
                "allow_private_push_endpoints": True,
                "poll_seconds": 0.2,
                "vapid_private_key": VAPID_PRIVATE_KEY,
                **(reminders or {}),
            }
        ),
    )


def claude_at(base_url: str, timeout_seconds: float = 1.0) -> dict[str, Any]:
    """LLM settings for Claude's wire format served by a test stub at `base_url`."""
    return {
        "provider": "anthropic",
        "api_key": "sk-ant-test",
        "base_url": base_url,
        "timeout_seconds": timeout_seconds,
    }


def run(make: Callable[[asyncpg.Connection], Awaitable[T]], dsn: str) -> T:
    """Run one coroutine against a fresh connection, from synchronous test code.

    It runs in a thread of its own: Playwright's sync API keeps an event loop running
    in the test's thread, where asyncio.run() is not allowed.
    """

    async def main() -> T:
        conn = await asyncpg.connect(dsn)
        await init_connection(conn)
        try:
            return await make(conn)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(settings: Settings, dsn: str, extra_tools: Sequence[Tool] = ()) -> Iterator[str]:
    """Serve the real app with uvicorn on 127.0.0.1 in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn_config(settings, dsn, host="127.0.0.1", port=port, extra_tools=extra_tools)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def new_invite(dsn: str, role: Role = Role.MEMBER, ttl: timedelta = timedelta(days=1)) -> str:
    async def create(conn: asyncpg.Connection) -> invites.Invite:
        return await invites.create(conn, role=role, ttl=ttl)

    return run(create, dsn).code


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


@dataclass
class Account:
    client: httpx.Client
    user: dict[str, Any]
    access_token: str
    username: str

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(self.user["id"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def register(
    base_url: str, dsn: str, role: Role = Role.MEMBER, *, verify: ssl.SSLContext | bool = True
) -> Account:
    client = httpx.Client(base_url=base_url, timeout=30, verify=verify)
    username = unique_name()
    response = client.post(
        "/api/auth/register",
        json={
            "code": new_invite(dsn, role),
            "username": username,
            "display_name": username.title(),
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(client, body["user"], body["access_token"], username)


async def new_user_id(conn: asyncpg.Connection) -> uuid.UUID:
    """A bare user row for tests that work below the API."""
    user_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO butler.users (username, display_name, role)
           VALUES ($1, 'Test', 'member') RETURNING id""",
        unique_name("mem"),
    )
    return user_id


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent), read with the
    Prometheus client's own parser, so a malformed exposition fails the test."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
