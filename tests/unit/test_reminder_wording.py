"""How a fired reminder or timer is worded, and which timer a name means."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from butler.agent.reminder_tools import choose_timer, spoken_span
from butler.notify.firing import Firing
from butler.notify.wording import lateness, notice
from butler.reminders.store import Reminder
from butler.tools.base import ToolError

DUE = datetime(2027, 1, 4, 18, 0, tzinfo=UTC)


def firing(kind: str, text: str, late: float = 0) -> Firing:
    return Firing(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), kind, text, DUE, DUE + timedelta(seconds=late)
    )


def timer(name: str) -> Reminder:
    return Reminder(uuid.uuid4(), "timer", name, DUE, None, "UTC", 60, DUE)


def test_a_reminder_on_time_and_late() -> None:
    on_time = notice(firing("reminder", "Call mum", late=20))
    assert (on_time.title, on_time.body, on_time.spoken) == (
        "Reminder",
        "Call mum",
        "A reminder: Call mum.",
    )
    late = notice(firing("reminder", "Call mum!", late=12 * 60 + 10))
    assert late.body == "Call mum! (12 minutes late)"
    assert late.spoken == "A reminder, 12 minutes late: Call mum!"


def test_a_timer_says_its_name() -> None:
    assert notice(firing("timer", "pasta")).spoken == "Your pasta timer is done."
    assert notice(firing("timer", "")).body == "Your timer is done."
    assert notice(firing("timer", "tea", late=3 * 3600)).spoken == (
        "Your tea timer is done, 3 hours late."
    )


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (30, ""),
        (60, "1 minute late"),
        (119 * 60, "119 minutes late"),
        (150 * 60, "2 hours late"),
        (5 * 3600, "5 hours late"),
        (3 * 86400, "3 days late"),
    ],
)
def test_lateness(seconds: float, said: str) -> None:
    assert lateness(seconds) == said


def test_spoken_spans() -> None:
    assert spoken_span(720) == "12 minutes"
    assert spoken_span(3900) == "1 hour 5 minutes"
    assert spoken_span(41) == "41 seconds"
    assert spoken_span(0) == "0 seconds"


def test_choosing_a_timer_by_name() -> None:
    pasta, eggs = timer("pasta"), timer("eggs")
    assert choose_timer([pasta, eggs], "the pasta timer".removeprefix("the ")) is pasta
    assert choose_timer([eggs], "") is eggs
    with pytest.raises(ToolError, match="Several timers"):
        choose_timer([pasta, eggs], "")
    with pytest.raises(ToolError, match="No rice timer"):
        choose_timer([pasta], "rice")
    with pytest.raises(ToolError, match="No timers"):
        choose_timer([], "pasta")
