"""Run the voice session in-process with no LiveKit server: audio from a WAV (paced in real
time, then silence, as a microphone gives it), audio out captured for a WAV. `butler talk`,
the tests and the latency benchmark all use this, with the same session settings as the
worker."""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from livekit import rtc
from livekit.agents import Agent, AgentSession, io, stt, tts, vad

from butler.config import VoiceSettings
from butler.voice.agent import ButlerAgent
from butler.voice.butler_llm import ButlerAPI, ButlerLLM
from butler.voice.providers import with_preflight
from butler.voice.reporting import attach_reporting, drain
from butler.voice.turn_detector import TextTurnDetector

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
    """Collects what the butler says and plays it out in (simulated) real time."""

    def __init__(self) -> None:
        super().__init__(
            label="captured-speaker", capabilities=io.AudioOutputCapabilities(pause=False)
        )
        self.frames: list[rtc.AudioFrame] = []
        self.first_frame_times: list[float] = []
        self.segment_started: float | None = None
        self.segment_seconds = 0.0
        self._finisher: asyncio.Task[None] | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self.segment_started is None:
            self.segment_started = time.perf_counter()
            self.segment_seconds = 0.0
            self.first_frame_times.append(self.segment_started)
            self.on_playback_started(created_at=time.time())
        self.frames.append(frame)
        self.segment_seconds += frame.samples_per_channel / frame.sample_rate

    def flush(self) -> None:
        super().flush()
        if self.segment_started is None:
            return
        started, seconds = self.segment_started, self.segment_seconds
        self.segment_started = None
        self._finisher = asyncio.create_task(self._finish(started, seconds))

    async def _finish(self, started: float, seconds: float) -> None:
        await asyncio.sleep(max(0.0, started + seconds - time.perf_counter()))
        self.on_playback_finished(playback_position=seconds, interrupted=False)

    def clear_buffer(self) -> None:
        if self._finisher is not None and not self._finisher.done():
            self._finisher.cancel()
        if self.segment_started is not None or self._finisher is not None:
            played = time.perf_counter() - (self.segment_started or time.perf_counter())
            self.segment_started = None
            self._finisher = None
            self.on_playback_finished(playback_position=max(0.0, played), interrupted=True)

    def audio(self) -> tuple[np.ndarray[Any, np.dtype[np.int16]], int]:
        if not self.frames:
            return np.zeros(0, dtype=np.int16), 24_000
        rate = self.frames[0].sample_rate
        return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in self.frames]), rate


@dataclass
class TalkResult:
    transcripts: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    interrupted: list[bool] = field(default_factory=list)
    end_to_first_audio: list[float] = field(default_factory=list)
    llm_first_token_ms: list[float] = field(default_factory=list)
    audio: np.ndarray[Any, np.dtype[np.int16]] = field(
        default_factory=lambda: np.zeros(0, np.int16)
    )
    audio_rate: int = 24_000
    ended_by_agent: bool = False


def watch_turns(session: AgentSession[Any]) -> None:
    """Let Butler's turn detector follow the session it decides for."""
    detector = session.options.turn_handling.get("turn_detection")
    if isinstance(detector, TextTurnDetector):
        detector.watch(session)


def session_options(settings: VoiceSettings) -> dict[str, Any]:
    """Turn handling set explicitly: nothing may fall back to LiveKit Cloud models."""
    return {
        "turn_handling": {
            # VAD ends speech; a local text rule decides between the short and the long
            # endpointing delay (a half-finished sentence waits for more).
            "turn_detection": TextTurnDetector(),
            "endpointing": {
                "min_delay": settings.endpointing_min_delay_seconds,
                "max_delay": settings.endpointing_max_delay_seconds,
            },
            # The LLM and TTS start on the final transcript, before the endpointing wait
            # ends: the wait lets a hesitating speaker carry on without costing latency.
            # The preflight transcript, a changed final one and a restart after a pause
            # each start one; more than livekit's 3 are needed for a hesitant speaker.
            "preemptive_generation": {"enabled": True, "preemptive_tts": True, "max_retries": 6},
            # A cough or "mm" that stops the butler is a false interruption: the reply
            # resumes where it paused (in rooms, whose audio output can pause).
            "interruption": {
                "mode": "vad",
                "resume_false_interruption": True,
                "false_interruption_timeout": 1.5,
            },
        },
    }


async def talk(
    utterances: Sequence[Utterance],
    rate: int,
    *,
    api: ButlerAPI,
    settings: VoiceSettings,
    stt_engine: stt.STT,
    tts_engine: tts.TTS,
    vad_model: vad.VAD,
    tail_seconds: float = 6.0,
    framework_defaults: bool = False,
) -> TalkResult:
    """Play the utterances into a session and collect what happened.

    `framework_defaults` runs livekit-agents' own defaults (turn detection, endpointing,
    no sentence flushing) instead of Butler's settings, as the benchmark's baseline.
    """
    with contextlib.suppress(httpx.HTTPError):
        # As the worker does at the start of a session: it checks the credential and
        # leaves the connection to the API warm for the first turn.
        await api.profile()
    microphone = ScheduledMicrophone(utterances, rate)
    speaker = CapturedSpeaker()
    options = {} if framework_defaults else session_options(settings)
    if not framework_defaults:
        stt_engine = with_preflight(stt_engine, vad_model, settings)
    session: AgentSession[Any] = AgentSession(
        vad=vad_model, stt=stt_engine, llm=ButlerLLM(api), tts=tts_engine, **options
    )
    watch_turns(session)
    session.input.audio = microphone
    session.output.audio = speaker
    result = TalkResult()
    closed = asyncio.Event()

    @session.on("conversation_item_added")
    def _item(event: Any) -> None:
        item = event.item
        role = getattr(item, "role", None)  # handoffs and tool items have none
        text = (getattr(item, "text_content", None) or "").strip()
        if role == "user":
            result.transcripts.append(text)
        elif role == "assistant":
            result.replies.append(text)
            result.interrupted.append(bool(getattr(item, "interrupted", False)))
            if api.outcome.first_token_ms is not None:
                result.llm_first_token_ms.append(api.outcome.first_token_ms)

    @session.on("close")
    def _closed(event: Any) -> None:
        result.ended_by_agent = not microphone.closed
        closed.set()

    reporting = attach_reporting(session, api)
    agent = Agent(instructions="") if framework_defaults else ButlerAgent(api)
    await session.start(agent)
    last_end = max((u.at + len(u.samples) / rate for u in utterances), default=0.0)
    try:
        await asyncio.wait_for(closed.wait(), timeout=last_end + tail_seconds)
    except TimeoutError:
        pass
    finally:
        microphone.closed = True
        await session.aclose()
        await drain(reporting)
        await api.aclose()

    for index in range(len(utterances)):
        end = microphone.speech_end_time(index)
        after = [t for t in speaker.first_frame_times if t > end]
        if after:
            result.end_to_first_audio.append(after[0] - end)
    result.audio, result.audio_rate = speaker.audio()
    return result
