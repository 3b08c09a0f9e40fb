"""Reminders and timers by voice: espeak-ng speech, the local models and the real API.
A timer needs no model; a reminder is set by the model's tool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes.wire import AnthropicWire, Reply
from tests.support import Account
from tests.voice.conftest import Converse, Speech

pytestmark = pytest.mark.slow


def waiting(account: Account) -> list[dict[str, Any]]:
    answer = account.client.get("/api/reminders", headers=account.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["reminders"])


def test_a_timer_by_voice_starts_once_its_reply_is_heard(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    result = converse(chat_account, [speak("Set a pasta timer for 12 minutes.")])
    assert result.replies == ["Pasta timer set for 12 minutes."], result
    (timer,) = waiting(chat_account)
    assert (timer["kind"], timer["text"], timer["duration_seconds"]) == ("timer", "pasta", 720)
    assert 700 < timer["seconds_left"] <= 720
    assert wire.requests == []  # no model


def test_a_reminder_by_voice(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    due = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0).isoformat()
    wire.play(
        Reply.use_tools(("set_reminder", {"text": "Call mum", "due_at": due})),
        Reply.say("I'll remind you at six."),
    )
    result = converse(chat_account, [speak("Remind me to call mum at six.")])
    assert result.replies == ["I'll remind you at six."], result
    (reminder,) = waiting(chat_account)
    assert reminder["text"] == "Call mum"
    assert datetime.fromisoformat(reminder["due_at"]) == datetime.fromisoformat(due)
