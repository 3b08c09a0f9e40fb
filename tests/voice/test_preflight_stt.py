"""The early transcription: a guess at the first pause that becomes the final transcript
when the speech ends there, and is dropped (never stitched) when the speaker carries on.

Real Silero VAD on espeak-ng speech; the batch STT is a stand-in that reports how much
audio it was given, so each transcript shows exactly what it covered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, stt, utils, vad
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from butler.config import VoiceSettings
from butler.voice.local_stt import LocalSTT
from butler.voice.preflight_stt import PreflightSTT, TranscriptionFailed
from butler.voice.providers import PAUSE_FOR_LOCAL_STT, PAUSE_FOR_STT_SERVICE, streaming_stt
from butler.voice.simulated_io import speech_end_offset
from tests.voice.conftest import Speech

FRAME_MS = 20


class MeasuringSTT(stt.STT):
    """Answers "<seconds of audio>" after a short delay, and counts its calls."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.calls: list[float] = []

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        frame = utils.merge_frames(buffer)
        seconds = frame.samples_per_channel / frame.sample_rate
        self.calls.append(seconds)
        await asyncio.sleep(0.03)
        return stt.SpeechEvent(
            stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language="en", text=f"{seconds:.2f}")],
        )


async def _events(
    adapter: PreflightSTT,
    samples: np.ndarray[Any, np.dtype[np.int16]],
    rate: int,
    silence_after: float = 1.0,
    on_event: Callable[[stt.SpeechEvent], None] | None = None,
) -> list[stt.SpeechEvent]:
    """Stream the samples in real time, then `silence_after` seconds of silence; collect
    the events (`on_event` sees each as it comes)."""
    stream = adapter.stream()
    per_frame = rate * FRAME_MS // 1000
    padded = np.concatenate([samples, np.zeros(int(silence_after * rate), dtype=np.int16)])

    async def feed() -> None:
        for start in range(0, len(padded) - per_frame + 1, per_frame):
            chunk = padded[start : start + per_frame]
            stream.push_frame(rtc.AudioFrame(chunk.tobytes(), rate, 1, per_frame))
            await asyncio.sleep(FRAME_MS / 1000)
        stream.end_input()

    feeder = asyncio.create_task(feed())
    events = []
    async for event in stream:
        if on_event is not None:
            on_event(event)
        events.append(event)
    await feeder
    await stream.aclose()
    return events


def _trimmed(samples: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> np.ndarray[Any, Any]:
    """The audible part: espeak-ng pads its speech with silence at both ends."""
    end = int(speech_end_offset(samples, rate) * rate)
    start = len(samples) - int(speech_end_offset(samples[::-1].copy(), rate) * rate)
    return samples[start:end]


def _kinds(events: list[stt.SpeechEvent]) -> list[str]:
    return [e.type.value for e in events]


def _text(event: stt.SpeechEvent) -> str:
    return event.alternatives[0].text


def test_a_guess_at_the_end_becomes_the_final_transcript(
    speak: Callable[[str], Speech], vad_model: vad.VAD
) -> None:
    samples, rate = speak("Please turn off the kitchen lights.")
    samples = _trimmed(samples, rate)
    wrapped = MeasuringSTT()
    adapter = PreflightSTT(
        stt_engine=wrapped, vad_model=vad_model, pause_seconds=0.06, quiet_below=0.5
    )
    events = asyncio.run(_events(adapter, samples, rate))

    kinds = _kinds(events)
    # (A pause between words may have made an earlier guess too.)
    assert kinds[0] == "start_of_speech" and kinds[-2:] == ["end_of_speech", "final_transcript"]
    assert set(kinds[1:-2]) == {"preflight_transcript"}
    preflight, final = events[-3], events[-1]
    assert _text(final) == _text(preflight)
    # The final transcript is the last guess, not a new transcription...
    assert float(_text(final)) == round(wrapped.calls[-1], 2)
    # ...and that guess heard the whole utterance (and the VAD's padding before it).
    assert wrapped.calls[-1] >= len(samples) / rate


def test_speech_after_a_pause_drops_the_guess_and_the_final_hears_everything(
    speak: Callable[[str], Speech], vad_model: vad.VAD
) -> None:
    first, rate = speak("Remind me to buy")
    second, _ = speak("milk and bread tomorrow.")
    first, second = _trimmed(first, rate), _trimmed(second, rate)
    # 0.2 s: longer than the preflight pause, shorter than the VAD's 0.3 s window.
    pause = np.zeros(int(0.2 * rate), dtype=np.int16)
    samples = np.concatenate([first, pause, second])
    wrapped = MeasuringSTT()
    adapter = PreflightSTT(
        stt_engine=wrapped, vad_model=vad_model, pause_seconds=0.06, quiet_below=0.5
    )
    events = asyncio.run(_events(adapter, samples, rate))

    kinds = _kinds(events)
    assert kinds.count("start_of_speech") == 1 and kinds.count("end_of_speech") == 1
    [final] = [e for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
    # One transcript of the whole utterance, not two pieces cut at the pause.
    assert float(_text(final)) >= len(samples) / rate
    # The guess made at the pause heard only the first words and was never final.
    assert min(wrapped.calls) < len(first) / rate + 0.3


def test_preflight_follows_the_setting(speak: Callable[[str], Speech], vad_model: vad.VAD) -> None:
    wrapped = MeasuringSTT()
    early = streaming_stt(wrapped, vad_model, VoiceSettings())
    assert isinstance(early, PreflightSTT) and early.capabilities.streaming
    assert early.pause_seconds == PAUSE_FOR_STT_SERVICE  # a service: one more request
    local = streaming_stt(LocalSTT(), vad_model, VoiceSettings())
    assert isinstance(local, PreflightSTT) and local.pause_seconds == PAUSE_FOR_LOCAL_STT
    assert PAUSE_FOR_LOCAL_STT > PAUSE_FOR_STT_SERVICE  # a guess costs it the CPU
    chosen = streaming_stt(LocalSTT(), vad_model, VoiceSettings(preflight_pause_seconds=0.1))
    assert isinstance(chosen, PreflightSTT) and chosen.pause_seconds == 0.1

    # Off: no guesses, one transcription of the whole utterance at the end of speech.
    samples, rate = speak("Please turn off the kitchen lights.")
    samples = _trimmed(samples, rate)
    late = streaming_stt(wrapped, vad_model, VoiceSettings(preflight_pause_seconds=0))
    events = asyncio.run(_events(late, samples, rate))
    assert _kinds(events) == ["start_of_speech", "end_of_speech", "final_transcript"]
    assert len(wrapped.calls) == 1 and wrapped.calls[0] >= len(samples) / rate


class FailingSTT(MeasuringSTT):
    async def _recognize_impl(self, buffer: utils.AudioBuffer, **kwargs: Any) -> stt.SpeechEvent:
        await super()._recognize_impl(buffer, **kwargs)
        raise APIConnectionError("the transcription server is down")


def test_a_failed_transcription_is_reported_and_the_stream_keeps_listening(
    speak: Callable[[str], Speech], vad_model: vad.VAD
) -> None:
    samples, rate = speak("Turn on the radio.")
    samples = _trimmed(samples, rate)
    silence = np.zeros(int(0.8 * rate), dtype=np.int16)
    wrapped = FailingSTT()
    adapter = streaming_stt(wrapped, vad_model, VoiceSettings(preflight_pause_seconds=0))
    errors: list[stt.STTError] = []
    adapter.on("error", errors.append)
    events = asyncio.run(_events(adapter, np.concatenate([samples, silence, samples]), rate))

    # Both utterances were heard to their end (the first failure did not end the stream)...
    assert _kinds(events) == ["start_of_speech", "end_of_speech"] * 2
    # ...each transcription was tried and retried once, and each failure reported.
    assert len(wrapped.calls) == 4
    assert len(errors) == 2
    assert all(e.recoverable and isinstance(e.error, TranscriptionFailed) for e in errors)


class SlowSTT(MeasuringSTT):
    """Takes a second per transcription, as local whisper can on a busy machine."""

    async def _recognize_impl(self, buffer: utils.AudioBuffer, **kwargs: Any) -> stt.SpeechEvent:
        await asyncio.sleep(1.0)
        return await super()._recognize_impl(buffer, **kwargs)


def test_speech_during_a_slow_transcription_is_seen_and_waited_for(
    speak: Callable[[str], Speech], vad_model: vad.VAD
) -> None:
    """The next speech is seen while the last is still being transcribed, transcripts
    keep their order, and the STT says it is transcribing until the newest words are out
    (the turn detector relies on it; an older transcript must not end the wait)."""
    first, rate = speak("Remind me to call my")
    second, _ = speak("mother at six tonight and tell her it is late.")
    first, second = _trimmed(first, rate), _trimmed(second, rate)
    gap = np.zeros(int(0.6 * rate), dtype=np.int16)  # longer than the VAD's window
    adapter = PreflightSTT(
        stt_engine=SlowSTT(), vad_model=vad_model, pause_seconds=0.06, quiet_below=0.5
    )
    busy: list[bool] = []  # whether the STT said it was transcribing, at each event
    events = asyncio.run(
        _events(
            adapter,
            np.concatenate([first, gap, second]),
            rate,
            silence_after=2.0,
            on_event=lambda _: busy.append(adapter.transcribing),
        )
    )
    seen = [
        (f"final {_text(e)}" if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT else e.type.value, b)
        for e, b in zip(events, busy, strict=True)
    ]
    kinds = [kind for kind, _ in seen if kind != "preflight_transcript"]
    assert kinds[:3] == ["start_of_speech", "end_of_speech", "start_of_speech"], seen
    finals = [(kind, busy) for kind, busy in seen if kind.startswith("final")]
    assert len(finals) == 2, seen
    first_seconds, second_seconds = (float(kind.split()[1]) for kind, _ in finals)
    assert first_seconds < len(first) / rate + 0.6 < second_seconds, "in order"
    assert finals[0][1] is True, "the newer speech was still being transcribed"
    assert adapter.transcribing is False
    assert adapter.newest_words == finals[1][0].split()[1]
