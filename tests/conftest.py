"""Fixtures: one embedded PostgreSQL per test session, one live API server on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from butler.db import migrate
from butler.db.embedded import EmbeddedPostgres
from butler.users.models import Role
from tests.fakes.home_assistant import TOKEN as HOME_TOKEN
from tests.fakes.home_assistant import FakeHomeAssistant
from tests.fakes.tools import TEST_TOOLS
from tests.fakes.wire import AnthropicWire
from tests.livekit_server import LiveKitServer, running_livekit
from tests.support import Account, claude_at, live_server, make_settings, register


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("butler-data")) as embedded:
        yield embedded


@pytest.fixture(scope="session")
def dsn(postgres: EmbeddedPostgres) -> str:
    migrate.upgrade(postgres.dsn)
    return postgres.dsn


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("butler-settings")


@pytest.fixture(scope="session")
def livekit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    """The real LiveKit server (built by `make livekit`), on loopback and free ports."""
    with running_livekit(tmp_path_factory.mktemp("livekit")) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(dsn: str, data_dir: Path, livekit: LiveKitServer) -> Iterator[str]:
    with live_server(make_settings(data_dir, livekit=livekit.settings), dsn) as url:
        yield url


@pytest.fixture
def new_account(base_url: str, dsn: str) -> Callable[..., Account]:
    def make(role: Role = Role.MEMBER) -> Account:
        return register(base_url, dsn, role)

    return make


@pytest.fixture(scope="session")
def anthropic_wire() -> Iterator[AnthropicWire]:
    with AnthropicWire().running() as wire:
        yield wire  # type: ignore[misc]


@pytest.fixture
def wire(anthropic_wire: AnthropicWire) -> AnthropicWire:
    anthropic_wire.reset()
    return anthropic_wire


@pytest.fixture(scope="session")
def chat_url(
    dsn: str,
    anthropic_wire: AnthropicWire,
    livekit: LiveKitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A Butler API whose LLM is Claude's wire format served on 127.0.0.1."""
    settings = make_settings(
        tmp_path_factory.mktemp("chat"),
        llm=claude_at(anthropic_wire.base_url),
        livekit=livekit.settings,
    )
    with live_server(settings, dsn, extra_tools=TEST_TOOLS) as url:
        yield url


@pytest.fixture
def chat_account(chat_url: str, dsn: str) -> Account:
    return register(chat_url, dsn)


@pytest.fixture(scope="session")
def home_assistant() -> Iterator[FakeHomeAssistant]:
    """A local server speaking Home Assistant's protocol, with the family house."""
    with FakeHomeAssistant().running() as fake:
        yield fake


@pytest.fixture(scope="session")
def home_url(
    dsn: str,
    home_assistant: FakeHomeAssistant,
    anthropic_wire: AnthropicWire,
    livekit: LiveKitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A Butler API connected to `home_assistant`, its LLM Claude's wire format."""
    settings = make_settings(
        tmp_path_factory.mktemp("home"),
        llm=claude_at(anthropic_wire.base_url, timeout_seconds=5),
        livekit=livekit.settings,
        home_assistant={"url": home_assistant.url, "token": HOME_TOKEN, "timeout_seconds": 2},
    )
    with live_server(settings, dsn) as url:
        admin = register(url, dsn, Role.ADMIN)

        def connected() -> bool:
            answer = admin.client.get("/api/home/status", headers=admin.auth).json()
            return bool(answer.get("state") == "connected")

        deadline = time.monotonic() + 15
        while not connected():
            assert time.monotonic() < deadline, "the API did not connect to Home Assistant"
            time.sleep(0.05)
        yield url
