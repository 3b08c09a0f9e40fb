"""A Butler API that learns: its learning model is Claude's wire format on 127.0.0.1 too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.wire import AnthropicWire
from tests.livekit_server import LiveKitServer
from tests.support import Account, claude_at, live_server, make_settings, register

LEARNING_MODEL = "claude-haiku-test"


@pytest.fixture(scope="session")
def learning_url(
    dsn: str,
    anthropic_wire: AnthropicWire,
    livekit: LiveKitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("learning"),
        llm=claude_at(anthropic_wire.base_url, timeout_seconds=10.0),
        memory={"learning": True, "learning_model": LEARNING_MODEL, "learning_daily_cap": 3},
        livekit=livekit.settings,
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture
def learner_account(learning_url: str, dsn: str) -> Account:
    return register(learning_url, dsn)
