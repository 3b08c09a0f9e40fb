"""Nothing a person says is lost between two turns: each path where speech could fall
between them, through the real voice session with the local models.

- a stretch of speech after a hesitation, while the turn is still open;
- speech after the turn was committed, while the reply is being prepared;
- speech over the reply (see also test_conversation's barge-in test);
- speech whose transcript comes after the end-of-turn decision (a slow STT).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from livekit.agents import stt, utils

from butler.voice.local_stt import LocalSTT
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import last_user_text, stored
from tests.support import Account
from tests.turn_set import lost_transcripts, words
from tests.voice.conftest import Converse, Speech


def _asked(wire: AnthropicWire) -> list[str]:
    return [last_user_text(request) for request in wire.requests]


def test_a_number_said_after_a_pause_reaches_the_turn(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
    dsn: str,
) -> None:
    """ "Please dim the bedroom lights to … thirty percent": whisper writes the second
    stretch as "30%", which once counted as a transcript with no words and was dropped."""
    wire.default = Reply.say("Dimmed.")
    result = converse(
        chat_account,
        [speak("Please dim the bedroom lights to"), speak("thirty percent.")],
        gap=0.6,
    )
    assert len(result.transcribed) >= 1, result
    assert not lost_transcripts(result.transcribed, result.transcripts), result
    said = " ".join(m["content"] for m in stored(dsn, chat_account.id) if m["role"] == "user")
    assert {"thirty", "percent"} & set(words(said)), said
    assert {"thirty", "percent"} & set(words(_asked(wire)[-1])), "the API was asked about it"


def test_speech_while_the_reply_is_prepared_is_asked_with_what_came_before(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    """The first turn is committed and its reply is still being written when the person
    adds to it: the reply is dropped before a word of it plays, and the next request
    holds both."""
    # Its first words come at once (a first token later than the API's 1 s timeout
    # would fail the turn), its first sentence only after ~2 s.
    wire.play(Reply.say("The kitchen lights are off.", chunk_delay=0.4))
    wire.default = Reply.say("Both done.")
    result = converse(
        chat_account,
        [speak("Turn off the kitchen lights."), speak("And lock the front door.")],
        gap=1.3,  # after the short endpointing wait: the first turn has been committed
        tail_seconds=8,
        until_answered=False,
    )
    assert not lost_transcripts(result.transcribed, result.transcripts), result
    last = set(words(_asked(wire)[-1]))
    assert {"kitchen", "lights"} <= last and {"lock", "door"} & last, _asked(wire)
    assert result.replies[-1] == "Both done.", result.replies


def test_speech_over_the_reply_reaches_a_turn(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    wire.play(Reply.say(" ".join(["This is a long answer that goes on."] * 10)))
    wire.default = Reply.say("Stopping.")
    result = converse(
        chat_account,
        # (Not a timer: the timer fast path would answer it without the model.)
        [speak("Tell me about the weather."), speak("What is on my calendar tomorrow?")],
        gap=2.5,  # the first reply is playing
        tail_seconds=8,
        until_answered=False,
    )
    assert result.interrupted and result.interrupted[0], result
    assert not lost_transcripts(result.transcribed, result.transcripts), result
    assert {"calendar", "tomorrow"} & set(words(_asked(wire)[-1])), _asked(wire)


class SlowLocalSTT(LocalSTT):
    """The local model, a second late: as on a busy machine or a slow network STT."""

    async def _recognize_impl(self, buffer: utils.AudioBuffer, **kwargs: Any) -> stt.SpeechEvent:
        await asyncio.sleep(1.0)
        return await super()._recognize_impl(buffer, **kwargs)


def test_words_transcribed_after_the_decision_began_reach_the_turn(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    wire.default = Reply.say("I will remind you.")
    result = converse(
        chat_account,
        [speak("Remind me to call my"), speak("mother at six tonight.")],
        gap=0.6,
        stt_engine=SlowLocalSTT(),
        tail_seconds=8,
        until_answered=False,
    )
    assert len(result.transcribed) >= 2, result
    assert not lost_transcripts(result.transcribed, result.transcripts), result
    last = set(words(_asked(wire)[-1]))
    assert "remind" in last and {"mother", "six", "tonight"} & last, _asked(wire)
