"""Speech to text that guesses at the first pause and confirms at the end of speech.

Behind a VAD, a batch STT (Groq, an OpenAI-compatible server, local whisper) hears an
utterance only once the VAD's silence window has passed, and the reply waits for that
window and then for the transcription. This adapter transcribes the whole utterance so
far as soon as the speaker has paused briefly (60 ms) and reports it as a *preflight*
transcript, on which livekit-agents starts the reply preemptively. When the VAD then
ends the speech with no new speech since the pause, that same transcription becomes the
final transcript, so the reply already under way is the one kept. If the speaker carries
on, the guess is dropped, and the final transcript is made from all of the audio.

Every transcription covers the utterance from its start: a pause never cuts the words
into pieces transcribed apart (a short VAD window would, and whisper then repeats or
drops words at the cuts). A pause costs one extra transcription, never accuracy.

With a pause of 0 no guesses are made: the adapter is then livekit's VAD-driven stream
adapter, except that a failed transcription is reported (as a recoverable STT error
whose cause is `TranscriptionFailed`) and the stream keeps listening, where livekit's
would count it towards closing the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectOptions, stt, utils, vad
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

log = logging.getLogger(__name__)

_TIMEOUT = DEFAULT_API_CONNECT_OPTIONS.timeout
_STREAM_OPTIONS = APIConnectOptions(max_retry=0, timeout=_TIMEOUT)
# A guess is not retried: the end of speech transcribes again anyway. The final
# transcription is, once and soon; a retry seconds later would only be a late answer.
_GUESS_OPTIONS = APIConnectOptions(max_retry=0, timeout=_TIMEOUT)
_FINAL_OPTIONS = APIConnectOptions(max_retry=1, retry_interval=0.2, timeout=_TIMEOUT)


class RecentAudio:
    """The last few seconds the microphone heard, for the end-of-turn model."""

    RATE = 16_000

    def __init__(self, keep_seconds: float = 8.5) -> None:
        self.keep_seconds = keep_seconds
        self._frames: deque[rtc.AudioFrame] = deque()
        self._seconds = 0.0

    def add(self, frame: rtc.AudioFrame) -> None:
        self._frames.append(frame)
        self._seconds += frame.duration
        while self._frames and self._seconds - self._frames[0].duration >= self.keep_seconds:
            self._seconds -= self._frames.popleft().duration

    def last(self, seconds: float) -> np.ndarray[Any, np.dtype[np.int16]]:
        """16 kHz mono int16 (empty before any audio)."""
        if not self._frames:
            return np.zeros(0, dtype=np.int16)
        merged = utils.merge_frames(list(self._frames))
        samples = np.frombuffer(merged.data, dtype=np.int16)
        if merged.num_channels > 1:
            samples = samples.reshape(-1, merged.num_channels).mean(axis=1).astype(np.int16)
        if merged.sample_rate != self.RATE:
            resampler = rtc.AudioResampler(
                merged.sample_rate, self.RATE, quality=rtc.AudioResamplerQuality.MEDIUM
            )
            frame = rtc.AudioFrame(samples.tobytes(), merged.sample_rate, 1, len(samples))
            out = [*resampler.push(frame), *resampler.flush()]
            samples = (
                np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in out])
                if out
                else np.zeros(0, dtype=np.int16)
            )
        return samples[-int(seconds * self.RATE) :]


class TranscriptionFailed(Exception):
    """What the user said could not be transcribed (the STT and any fallback failed)."""


@dataclass(frozen=True)
class TranscriptionStarted:
    """Emitted as "transcription_started": where the VAD's share of a turn's latency ends."""

    at: float  # time.perf_counter()
    guess: bool  # at a pause (True), or at the VAD's end of speech


class PreflightSTT(stt.STT[Literal["transcription_started", "final_transcript"]]):
    """Wraps a batch STT; streams START/END of speech, preflight and final transcripts.

    Emits "transcription_started" (TranscriptionStarted) and "final_transcript" (the
    words of each final transcript, as sent)."""

    def __init__(
        self, *, stt_engine: stt.STT, vad_model: vad.VAD, pause_seconds: float, quiet_below: float
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self.wrapped = stt_engine
        self.vad = vad_model
        self.pause_seconds = pause_seconds
        self.quiet_below = quiet_below  # the VAD's speech probability below which is quiet
        self.wrapped.on("metrics_collected", self._forward_metrics)
        # Utterances whose speech began and whose final transcript is not out yet: the
        # turn detector waits for them (see turn_detector.TextTurnDetector).
        self._untranscribed = 0
        self._all_delivered: asyncio.Event | None = None
        self.newest_words = ""  # the latest final transcript
        self.heard = RecentAudio()
        self.speech_ended_at: float | None = None  # time.time() of the latest end of speech
        # The words of the speech so far while the speaker has been quiet since they
        # were transcribed (a preflight transcript); None once they speak again.
        self.current_guess: str | None = None
        self.in_speech = False  # between the VAD's start and end of speech
        self.speech_resumed: list[Callable[[], None]] = []  # called when it is dropped

    @property
    def transcribing(self) -> bool:
        return self._untranscribed > 0

    async def delivered(self) -> None:
        """Return once every utterance begun so far has its final transcript out (or
        turned out to hold no words)."""
        while self._untranscribed > 0:
            if self._all_delivered is None:
                self._all_delivered = asyncio.Event()
            await self._all_delivered.wait()

    def recent_audio(self, seconds: float) -> np.ndarray[Any, np.dtype[np.int16]]:
        return self.heard.last(seconds)

    def _guessed(self, words: str) -> None:
        self.current_guess = words

    def _speaking(self) -> None:
        if self.current_guess is not None:
            self.current_guess = None
            for listener in list(self.speech_resumed):
                listener()

    def _utterance_began(self) -> None:
        self._untranscribed += 1

    def _utterance_done(self, words: str) -> None:
        self._untranscribed = max(0, self._untranscribed - 1)
        if words:
            self.newest_words = words
        if self._untranscribed == 0 and self._all_delivered is not None:
            self._all_delivered.set()
            self._all_delivered = None

    @property
    def model(self) -> str:
        return self.wrapped.model

    @property
    def provider(self) -> str:
        return self.wrapped.provider

    def _forward_metrics(self, *args: Any, **kwargs: Any) -> None:
        self.emit("metrics_collected", *args, **kwargs)

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        return await self.wrapped.recognize(
            buffer=buffer, language=language, conn_options=conn_options
        )

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return PreflightStream(self, language=language)

    def prewarm(self) -> None:
        self.wrapped.prewarm()

    async def aclose(self) -> None:
        self.wrapped.off("metrics_collected", self._forward_metrics)


class Utterance:
    """The audio of the speech in progress, and the guess made at its latest pause."""

    def __init__(self, frames: list[rtc.AudioFrame]) -> None:
        self.frames = list(frames)
        self.quiet_seconds = 0.0
        self.guess: asyncio.Task[stt.SpeechEvent] | None = None

    def drop_guess(self) -> None:
        if self.guess is not None:
            self.guess.cancel()
            self.guess = None


class PreflightStream(stt.RecognizeStream):
    def __init__(self, adapter: PreflightSTT, *, language: NotGivenOr[str]) -> None:
        super().__init__(stt=adapter, conn_options=_STREAM_OPTIONS)
        self._adapter = adapter
        self._language = language
        self._utterance: Utterance | None = None
        # Final transcriptions run beside the VAD, so the next speech is seen as it
        # starts; each waits for the one before it, so transcripts keep their order.
        self._finishing: asyncio.Task[None] | None = None
        self._finishes: set[asyncio.Task[None]] = set()

    async def _metrics_monitor_task(self, event_aiter: Any) -> None:
        async for _ in event_aiter:
            pass  # the wrapped STT reports its own metrics

    async def _run(self) -> None:
        vad_stream = self._adapter.vad.stream()

        async def forward_input() -> None:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    vad_stream.flush()
                else:
                    self._adapter.heard.add(item)
                    vad_stream.push_frame(item)
            vad_stream.end_input()

        async def follow_speech() -> None:
            async for event in vad_stream:
                self._on_vad(event)

        tasks = [asyncio.create_task(forward_input()), asyncio.create_task(follow_speech())]
        try:
            await asyncio.gather(*tasks)
        finally:
            if self._utterance is not None:
                self._utterance.drop_guess()
                self._utterance = None
                self._adapter._utterance_done("")
            await utils.aio.cancel_and_wait(*tasks, *self._finishes)
            await vad_stream.aclose()

    def _transcribe(
        self, frames: list[rtc.AudioFrame], *, guess: bool
    ) -> asyncio.Task[stt.SpeechEvent]:
        started = TranscriptionStarted(at=time.perf_counter(), guess=guess)
        self._adapter.emit("transcription_started", started)
        return asyncio.create_task(
            self._adapter.wrapped.recognize(
                buffer=utils.merge_frames(frames),
                language=self._language,
                conn_options=_GUESS_OPTIONS if guess else _FINAL_OPTIONS,
            )
        )

    def _on_vad(self, event: vad.VADEvent) -> None:
        if event.type == vad.VADEventType.START_OF_SPEECH:
            if self._utterance is not None:  # no end came for it: nothing will
                self._utterance.drop_guess()
                self._adapter._utterance_done("")
            self._adapter._speaking()
            self._adapter.in_speech = True
            self._utterance = Utterance(event.frames)
            self._adapter._utterance_began()
            self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.START_OF_SPEECH))
        elif event.type == vad.VADEventType.INFERENCE_DONE and self._utterance is not None:
            self._on_window(self._utterance, event)
        elif event.type == vad.VADEventType.END_OF_SPEECH and self._utterance is not None:
            utterance, self._utterance = self._utterance, None
            self._end(utterance, event)

    def _on_window(self, utterance: Utterance, event: vad.VADEvent) -> None:
        utterance.frames.extend(event.frames)
        seconds = sum(f.samples_per_channel / f.sample_rate for f in event.frames)
        if event.probability >= self._adapter.quiet_below:
            self._adapter._speaking()
            utterance.quiet_seconds = 0.0
            utterance.drop_guess()  # they carried on: the guess misses these words
            return
        utterance.quiet_seconds += seconds
        pause = self._adapter.pause_seconds
        if pause > 0 and utterance.guess is None and utterance.quiet_seconds >= pause:
            guess = self._transcribe(utterance.frames, guess=True)
            utterance.guess = guess
            guess.add_done_callback(lambda done: self._announce(utterance, done))

    def _announce(self, utterance: Utterance, guess: asyncio.Task[stt.SpeechEvent]) -> None:
        """A guess that is still current becomes the preflight transcript."""
        if guess.cancelled() or utterance.guess is not guess or self._utterance is not utterance:
            return
        if guess.exception() is not None or not _text(guess.result()):
            return  # the end of speech transcribes again
        heard = guess.result().alternatives[0]
        self._adapter._guessed(heard.text.strip())
        with contextlib.suppress(utils.aio.ChanClosed):  # the stream ended meanwhile
            self._event_ch.send_nowait(
                stt.SpeechEvent(stt.SpeechEventType.PREFLIGHT_TRANSCRIPT, alternatives=[heard])
            )

    def _end(self, utterance: Utterance, event: vad.VADEvent) -> None:
        speech_end_time = time.time() - event.silence_duration - event.inference_duration
        self._adapter.speech_ended_at = speech_end_time
        self._adapter.in_speech = False
        self._event_ch.send_nowait(
            stt.SpeechEvent(stt.SpeechEventType.END_OF_SPEECH, speech_end_time=speech_end_time)
        )
        finish = asyncio.create_task(
            self._finish(utterance, event.frames, speech_end_time, after=self._finishing)
        )
        self._finishing = finish
        self._finishes.add(finish)
        finish.add_done_callback(self._finishes.discard)

    async def _finish(
        self,
        utterance: Utterance,
        frames: list[rtc.AudioFrame],
        speech_end_time: float,
        *,
        after: asyncio.Task[None] | None,
    ) -> None:
        words = ""
        try:
            words = await self._final_words(utterance, frames, speech_end_time, after=after)
        finally:
            self._adapter._utterance_done(words)

    async def _final_words(
        self,
        utterance: Utterance,
        frames: list[rtc.AudioFrame],
        speech_end_time: float,
        *,
        after: asyncio.Task[None] | None,
    ) -> str:
        """Send the utterance's final transcript once the one before it is out; return
        its words ("" if none)."""
        final: stt.SpeechEvent | None = None
        if utterance.guess is not None:
            # Nothing was said since the pause: the guess heard all of it.
            with contextlib.suppress(Exception):
                final = await utterance.guess
        if final is None or not _text(final):
            try:
                final = await self._transcribe(frames, guess=False)
            except Exception as exc:  # the session carries on listening
                log.warning("transcription failed: %s", exc)
                self._report_failure(exc)
                return ""
        if after is not None:
            await asyncio.wait([after])
        if not _text(final):
            return ""
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                stt.SpeechEventType.FINAL_TRANSCRIPT,
                alternatives=[final.alternatives[0]],
                speech_end_time=final.speech_end_time or speech_end_time,
            )
        )
        self._adapter.emit("final_transcript", _text(final))
        return _text(final)

    def _report_failure(self, cause: Exception) -> None:
        failure = TranscriptionFailed(str(cause) or type(cause).__name__)
        failure.__cause__ = cause
        self._adapter.emit(
            "error",
            stt.STTError(
                timestamp=time.time(), label=self._adapter.label, error=failure, recoverable=True
            ),
        )


def _text(event: stt.SpeechEvent) -> str:
    return event.alternatives[0].text.strip() if event.alternatives else ""
