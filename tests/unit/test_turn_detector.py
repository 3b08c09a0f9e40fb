"""The end-of-turn judgement: the text rule that tells a finished request from a speaker
who paused mid-sentence, and how it combines with an audio model."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from livekit.agents import llm

from butler.voice import turn_detector
from butler.voice.turn_detector import (
    FINISHED,
    UNFINISHED,
    ButlerTurnDetector,
    end_of_turn_probability,
)


@pytest.mark.parametrize(
    "text",
    [
        "Turn off the kitchen lights.",
        "What's the weather tomorrow?",
        "Remind me to call mum at six",
        "Thanks",
        "What time is it?",
        "Where is it?",
        "Turn the kitchen lights on.",
        "Could you switch it on",
        "Put the kettle on",
        "Leave the porch light on please",  # "please" ends it anyway
        "Let me in",
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
        "Can you?",  # whisper's question mark on "can you … turn the volume down"
        "What time does that?",
        "Send a message to Anna saying",
        "Add a note called",
        "Turn on",
        "Can you switch on",
        "Remind me on",
        "Turn the heating on in",
        "Switch off everything in",
        "",
    ],
)
def test_unfinished_phrases(text: str) -> None:
    assert end_of_turn_probability(text) == UNFINISHED


def test_the_detector_reads_the_last_user_message() -> None:
    detector = ButlerTurnDetector()
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
        self.audio_asked: list[float] = []
        self.speech_ended_at: float | None = None

    def recent_audio(self, seconds: float) -> np.ndarray:  # type: ignore[type-arg]
        self.audio_asked.append(seconds)
        return np.zeros(int(seconds * 16_000), dtype=np.int16)

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
        detector, words = ButlerTurnDetector(), _Transcription()
        detector.follow(words)
        words.begin()
        words.deliver("call my mother")
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content="Remind me to call my mother")
        return await asyncio.wait_for(detector.predict_end_of_turn(ctx), 1.0)

    assert asyncio.run(scenario()) == FINISHED  # at once, not after WORDS_TIMEOUT


def test_the_detector_waits_for_words_still_being_transcribed() -> None:
    async def scenario() -> tuple[float, float, bool]:
        detector, words = ButlerTurnDetector(), _Transcription()
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
        detector, words = ButlerTurnDetector(), _Transcription()
        detector.follow(words)
        words.begin()
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content="Turn off the lights.")
        return await detector.predict_end_of_turn(ctx)

    assert asyncio.run(scenario()) == UNFINISHED


class _AudioModel:
    """An audio model that hears the turn as finished with probability `p`."""

    name = "test-model"
    seconds = 2.0
    threshold = 0.5

    def __init__(self, p: float) -> None:
        self.p = p
        self.lengths: list[int] = []

    def probability(self, audio: np.ndarray) -> float:  # type: ignore[type-arg]
        self.lengths.append(len(audio))
        return self.p


def _judge(
    words: str, p: float, *, text: bool = True, unsure_delay: float = 0.3
) -> tuple[float, _AudioModel, float]:
    """(verdict, the model, seconds from the end of speech to the verdict)."""
    model = _AudioModel(p)
    detector = ButlerTurnDetector(text=text, audio_model=model, unsure_delay=unsure_delay)
    transcription = _Transcription()
    detector.follow(transcription)
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content=words)
    transcription.speech_ended_at = time.time() - 0.1  # the VAD's silence has passed
    verdict = asyncio.run(detector.predict_end_of_turn(ctx))
    return verdict, model, time.time() - transcription.speech_ended_at


def test_finished_words_that_sound_unfinished_make_the_turn_wait() -> None:
    """ "What is the weather … like tomorrow": the words could end there, the voice did
    not. Unsure: the turn ends, but only `unsure_delay` after the speech did."""
    verdict, model, after = _judge("What is the weather", 0.2)
    assert verdict == FINISHED
    assert 0.3 <= after < 0.6, after
    assert model.lengths == [32_000], "the model hears its own window of the latest audio"


def test_new_speech_ends_an_unsure_wait() -> None:
    async def scenario() -> bool:
        detector = ButlerTurnDetector(audio_model=_AudioModel(0.2), unsure_delay=5.0)
        transcription = _Transcription()
        transcription.speech_ended_at = time.time()
        detector.follow(transcription)
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content="What is the weather")
        deciding = asyncio.create_task(detector.predict_end_of_turn(ctx))
        await asyncio.sleep(0.1)
        deciding.cancel()  # what livekit does when the VAD hears speech again
        await asyncio.gather(deciding, return_exceptions=True)
        return deciding.cancelled()

    assert asyncio.run(scenario())


def test_the_turn_ends_when_words_and_sound_agree() -> None:
    verdict, _, after = _judge("Turn off the kitchen lights.", 0.9)
    assert verdict == FINISHED and after < 0.3, "no wait beyond livekit's own"


def test_unfinished_words_wait_whatever_the_sound() -> None:
    assert _judge("Remind me to", 0.99)[0] == UNFINISHED


def test_an_audio_model_alone_decides_by_the_sound() -> None:
    assert _judge("Remind me to", 0.9, text=False)[0] == FINISHED
    assert _judge("Turn off the kitchen lights.", 0.1, text=False)[0] == UNFINISHED


def test_a_detector_needs_a_judge() -> None:
    with pytest.raises(ValueError, match="text rule, an audio model or both"):
        ButlerTurnDetector(text=False)
    both = ButlerTurnDetector(audio_model=_AudioModel(0.5))
    assert both.model == "butler-text-rules + test-model"


class _BrokenModel(_AudioModel):
    def probability(self, audio: np.ndarray) -> float:  # type: ignore[type-arg]
        raise RuntimeError("the model file is damaged")


def test_a_failing_audio_model_leaves_the_words_to_decide(
    caplog: pytest.LogCaptureFixture,
) -> None:
    detector = ButlerTurnDetector(audio_model=_BrokenModel(0.0), unsure_delay=5.0)
    detector.follow(_Transcription())
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content="Turn off the kitchen lights.")
    verdict = asyncio.run(asyncio.wait_for(detector.predict_end_of_turn(ctx), 1.0))
    assert verdict == FINISHED  # at once: no unsure wait on a model that said nothing
    assert "end-of-turn model test-model failed" in caplog.text


def test_a_recognised_home_command_ends_the_turn_whatever_the_sound() -> None:
    """Words the API recognised as a complete command end the turn at once, even when
    the voice sounded unfinished (which would otherwise wait `unsure_delay`); other
    words are judged as usual."""

    async def scenario() -> tuple[float, float, float]:
        detector = ButlerTurnDetector(audio_model=_AudioModel(0.1), unsure_delay=5.0)
        transcription = _Transcription()
        transcription.speech_ended_at = time.time()
        detector.follow(transcription)
        detector.expect_command("Turn off the kitchen lights")
        transcription.begin()
        deciding = asyncio.create_task(detector.predict_end_of_turn(llm.ChatContext()))
        await asyncio.sleep(0.05)
        transcription.deliver("Turn off the kitchen lights")
        command = await asyncio.wait_for(deciding, 1.0)
        more = "Turn off the kitchen lights in the hall and"
        transcription.begin()
        transcription.deliver(more)
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content=more)
        went_on = await asyncio.wait_for(detector.predict_end_of_turn(ctx), 1.0)
        detector.expect_command(None)
        transcription.begin()
        transcription.deliver("Turn off the kitchen lights")
        unsure = asyncio.create_task(detector.predict_end_of_turn(llm.ChatContext()))
        await asyncio.sleep(0.3)
        waited = 0.0 if unsure.done() else 1.0
        unsure.cancel()
        return command, went_on, waited

    command, went_on, waited = asyncio.run(scenario())
    assert command == FINISHED
    assert went_on == UNFINISHED  # the words changed: the text rule judges them
    assert waited == 1.0  # without the recognition, the unsure sound makes it wait
