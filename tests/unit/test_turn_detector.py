"""The text rule that tells a finished request from a speaker who paused mid-sentence."""

from __future__ import annotations

import asyncio

import pytest
from livekit.agents import llm

from butler.voice.turn_detector import (
    FINISHED,
    UNFINISHED,
    TextTurnDetector,
    end_of_turn_probability,
)


@pytest.mark.parametrize(
    "text",
    [
        "Turn off the kitchen lights.",
        "What's the weather tomorrow?",
        "Remind me to call mum at six",
        "Thanks",
    ],
)
def test_finished_requests(text: str) -> None:
    assert end_of_turn_probability(text) == FINISHED


@pytest.mark.parametrize(
    "text",
    [
        "Could you turn off the",
        "Remind me to",
        "Set a timer for, um",
        "I want to go to the shop and",
        "Play something by...",
        "Well,",
        "",
    ],
)
def test_unfinished_phrases(text: str) -> None:
    assert end_of_turn_probability(text) == UNFINISHED


def test_the_detector_reads_the_last_user_message() -> None:
    detector = TextTurnDetector()
    chat = llm.ChatContext()
    chat.add_message(role="user", content="Turn off the lights.")
    chat.add_message(role="assistant", content="Done.")
    chat.add_message(role="user", content="And lock the")
    assert asyncio.run(detector.predict_end_of_turn(chat)) == UNFINISHED
    threshold = asyncio.run(detector.unlikely_threshold(None))
    assert threshold is not None and UNFINISHED < threshold < FINISHED
