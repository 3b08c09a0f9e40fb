"""Timer sentences understood without a model: Home Assistant's and Butler's own."""

from __future__ import annotations

import pytest

from butler.reminders.timer_phrases import TimerCommand, understand


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("Set a pasta timer for 12 minutes.", TimerCommand("start", 720, "pasta")),
        ("set a timer for 12 minutes", TimerCommand("start", 720, "")),
        ("Set a 10 minute timer called eggs", TimerCommand("start", 600, "eggs")),
        ("set a timer for one hour and 5 minutes", TimerCommand("start", 3900, "")),
        ("set a tea timer for 3 minutes and 30 seconds", TimerCommand("start", 210, "tea")),
        ("How long is left?", TimerCommand("status", None, "")),
        ("how much time is left on the pasta timer", TimerCommand("status", None, "pasta")),
        ("Cancel the pasta timer.", TimerCommand("cancel", None, "pasta")),
        ("cancel my timer", TimerCommand("cancel", None, "")),
    ],
)
def test_timer_sentences(text: str, command: TimerCommand) -> None:
    assert understand(text) == command


@pytest.mark.parametrize(
    "text",
    [
        "turn off the kitchen lights",
        "remind me to check the timer at six",
        "cancel the 10 minute timer",  # which one: the LLM reads the list
        "how long is the drive to London",
        "set a timer",  # for how long: the LLM asks
    ],
)
def test_other_sentences_go_to_the_model(text: str) -> None:
    assert understand(text) is None
