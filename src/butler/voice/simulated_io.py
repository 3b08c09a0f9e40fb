"""Audio in and out of a voice session without a room: a microphone that plays WAV
speech in real time (then silence, as a microphone gives it), a speaker that plays
the butler's audio out on a simulated clock and can pause, and the captions an app
would show. The in-process harness (`butler talk`, the tests, the benchmark) uses them."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import io

FRAME_MS = 20


def read_wav(path: Path) -> tuple[np.ndarray[Any, np.dtype[np.int16]], int]:
    """Mono int16 samples and the sample rate; a clear error for anything else."""
    try:
        with wave.open(str(path), "rb") as handle:
            if handle.getsampwidth() != 2:
                raise ValueError(f"{path} must be 16-bit PCM")
            rate, channels = handle.getframerate(), handle.getnchannels()
            samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path} is not a readable WAV file: {exc}") from exc
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples, rate


def write_wav(path: Path, samples: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.astype(np.int16).tobytes())


def speech_end_offset(samples: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> float:
    """Seconds from the start of `samples` to the end of the last audible 10 ms window."""
    window = max(1, rate // 100)
    usable = len(samples) // window * window
    if usable == 0:
        return 0.0
    blocks = samples[:usable].astype(np.float64).reshape(-1, window)
    loudness = np.sqrt((blocks**2).mean(axis=1))
    audible = np.flatnonzero(loudness > max(200.0, loudness.max() * 0.02))
    return 0.0 if len(audible) == 0 else (audible[-1] + 1) * window / rate


@dataclass(frozen=True)
class Utterance:
    """Speech to play into the session, starting `at` seconds after the session starts."""

    samples: np.ndarray[Any, np.dtype[np.int16]]
    at: float = 0.0


class ScheduledMicrophone(io.AudioInput):
    """Real-time 20 ms frames: the utterances at their times, silence in between and after."""

    def __init__(self, utterances: Sequence[Utterance], rate: int) -> None:
        super().__init__(label="scheduled-microphone")
        self.rate = rate
        self.per_frame = rate * FRAME_MS // 1000
        self.timeline = self._build(utterances)
        # End of speech is read from the audio itself, not from the file's length.
        self.speech_ends = [u.at + speech_end_offset(u.samples, rate) for u in utterances]
        self.started: float | None = None
        self.position = 0
        self.closed = False

    def _build(self, utterances: Sequence[Utterance]) -> np.ndarray[Any, np.dtype[np.int16]]:
        end = max((int(u.at * self.rate) + len(u.samples) for u in utterances), default=0)
        timeline = np.zeros(end, dtype=np.int16)
        for u in utterances:
            start = int(u.at * self.rate)
            timeline[start : start + len(u.samples)] = u.samples
        return timeline

    async def __anext__(self) -> rtc.AudioFrame:
        if self.closed:
            raise StopAsyncIteration
        if self.started is None:
            self.started = time.perf_counter()
        due = self.started + self.position / self.rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        chunk = self.timeline[self.position : self.position + self.per_frame]
        if len(chunk) < self.per_frame:
            chunk = np.concatenate([chunk, np.zeros(self.per_frame - len(chunk), dtype=np.int16)])
        self.position += self.per_frame
        return rtc.AudioFrame(chunk.tobytes(), self.rate, 1, self.per_frame)

    def speech_end_time(self, index: int) -> float:
        assert self.started is not None
        return self.started + self.speech_ends[index]


class CapturedSpeaker(io.AudioOutput):
    """Collects what the butler says and plays it out on a simulated real-time clock
    that stops while playback is paused, as a room's audio track does."""

    def __init__(self) -> None:
        super().__init__(
            label="captured-speaker", capabilities=io.AudioOutputCapabilities(pause=True)
        )
        self.frames: list[rtc.AudioFrame] = []
        self.first_frame_times: list[float] = []
        self.pauses = 0
        self.segment_started: float | None = None  # playout of the current segment began
        self.segment_seconds = 0.0  # audio received for it
        self.segment_complete = False  # flushed: no more audio comes for it
        self.paused_at: float | None = None
        self.paused_seconds = 0.0  # time the current segment has spent paused
        self._finisher: asyncio.Task[None] | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self.segment_started is None:
            self.segment_started = time.perf_counter()
            self.segment_seconds, self.segment_complete = 0.0, False
            self.paused_seconds = 0.0
            if self.paused_at is not None:  # paused before its first frame
                self.paused_at = self.segment_started
            self.first_frame_times.append(self.segment_started)
            self.on_playback_started(created_at=time.time())
        self.frames.append(frame)
        self.segment_seconds += frame.samples_per_channel / frame.sample_rate

    def played_seconds(self) -> float:
        if self.segment_started is None:
            return 0.0
        now = self.paused_at if self.paused_at is not None else time.perf_counter()
        played = now - self.segment_started - self.paused_seconds
        return min(max(0.0, played), self.segment_seconds)

    def flush(self) -> None:
        super().flush()
        if self.segment_started is None:
            return
        self.segment_complete = True
        self._schedule_finish()

    def _schedule_finish(self) -> None:
        if self.segment_complete and self.paused_at is None and self._finisher is None:
            self._finisher = asyncio.create_task(self._finish())

    async def _finish(self) -> None:
        await asyncio.sleep(self.segment_seconds - self.played_seconds())
        seconds = self.segment_seconds
        self._end_segment()
        self.on_playback_finished(playback_position=seconds, interrupted=False)

    def _end_segment(self) -> None:
        self.segment_started, self.paused_at, self._finisher = None, None, None

    def pause(self) -> None:
        super().pause()
        if self.paused_at is None:
            self.pauses += 1
            self.paused_at = time.perf_counter()
            if self._finisher is not None:
                self._finisher.cancel()
                self._finisher = None

    def resume(self) -> None:
        super().resume()
        if self.paused_at is not None:
            self.paused_seconds += time.perf_counter() - self.paused_at
            self.paused_at = None
            self._schedule_finish()

    def clear_buffer(self) -> None:
        if self._finisher is not None:
            self._finisher.cancel()
        if self.segment_started is None:
            self.paused_at = None
            return
        played = self.played_seconds()
        self._end_segment()
        self.on_playback_finished(playback_position=played, interrupted=True)

    def audio(self) -> tuple[np.ndarray[Any, np.dtype[np.int16]], int]:
        if not self.frames:
            return np.zeros(0, dtype=np.int16), 24_000
        rate = self.frames[0].sample_rate
        return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in self.frames]), rate


class CapturedCaptions(io.TextOutput):
    """The butler's words as a room's transcription stream carries them to the app:
    behind livekit's synchronizer, which releases each word as its audio plays."""

    def __init__(self) -> None:
        super().__init__(label="captured-captions", next_in_chain=None)
        self.segments: list[str] = [""]

    async def capture_text(self, text: str) -> None:
        self.segments[-1] += text

    def flush(self) -> None:
        if self.segments[-1]:
            self.segments.append("")

    def shown(self) -> list[str]:
        return [segment.strip() for segment in self.segments if segment.strip()]
