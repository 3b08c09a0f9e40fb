"""The text rule that tells a finished request from a speaker who paused mid-sentence."""

from __future__ import annotations

import asyncio

import pytest
from livekit.agents import llm

from butler.voice import turn_detector
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


class _Transcription:
    """The STT's side of the protocol: words being transcribed, then delivered."""

    def __init__(self) -> None:
        self.transcribing = False
        self.newest_words = ""
        self._done = asyncio.Event()

    def begin(self) -> None:
        self.transcribing = True
        self._done.clear()

    def deliver(self, words: str) -> None:
        self.transcribing, self.newest_words = False, words
        self._done.set()

    async def delivered(self) -> None:
        await self._done.wait()


def _stale_context() -> llm.ChatContext:
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content="Remind me to call my")
    return ctx


def test_words_already_delivered_are_not_waited_for() -> None:
    """An early transcription can deliver the final words before the VAD says the speech
    ended: the decision must not then wait for words that already came."""

    async def scenario() -> float:
        detector, words = TextTurnDetector(), _Transcription()
        detector.follow(words)
        words.begin()
        words.deliver("call my mother")
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content="Remind me to call my mother")
        return await asyncio.wait_for(detector.predict_end_of_turn(ctx), 1.0)

    assert asyncio.run(scenario()) == FINISHED  # at once, not after WORDS_TIMEOUT


def test_the_detector_waits_for_words_still_being_transcribed() -> None:
    async def scenario() -> tuple[float, float, bool]:
        detector, words = TextTurnDetector(), _Transcription()
        detector.follow(words)
        words.begin()
        prediction = asyncio.create_task(detector.predict_end_of_turn(_stale_context()))
        await asyncio.sleep(0.05)
        waiting = not prediction.done()
        words.deliver("mother at six tonight")
        finished = await prediction
        # The next pause, this time with no words outstanding: the text rule alone.
        return finished, await detector.predict_end_of_turn(_stale_context()), waiting

    finished, stale, waited = asyncio.run(scenario())
    assert waited, "the prediction must wait while words are outstanding"
    assert finished == FINISHED  # decided on the newest words, which end a request
    assert stale == UNFINISHED


def test_words_that_never_come_count_as_unfinished(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turn_detector, "WORDS_TIMEOUT", 0.05)

    async def scenario() -> float:
        detector, words = TextTurnDetector(), _Transcription()
        detector.follow(words)
        words.begin()
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content="Turn off the lights.")
        return await detector.predict_end_of_turn(ctx)

    assert asyncio.run(scenario()) == UNFINISHED
