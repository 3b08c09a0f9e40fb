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
from livekit.agents.voice.transcription.synchronizer import TranscriptSynchronizer

from butler.config import VoiceSettings
from butler.voice.agent import ButlerAgent
from butler.voice.butler_llm import ButlerAPI, ButlerLLM
from butler.voice.preflight_stt import PreflightSTT, TranscriptionStarted
from butler.voice.providers import streaming_stt
from butler.voice.reporting import attach_reporting, drain
from butler.voice.session_setup import attach_session_behaviour, session_options

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
        self.resumes = 0
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
            self.resumes += 1
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
    false_interruptions: list[bool] = field(default_factory=list)  # resumed or not
    pauses: int = 0
    said: int = 0  # speeches not generated from a turn (the greeting, the STT apology)
    captions: list[str] = field(default_factory=list)  # the butler's words, as shown
    speech_ends: list[float] = field(default_factory=list)  # perf_counter, from the audio
    transcription_starts: list[TranscriptionStarted] = field(default_factory=list)


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
    options = {} if framework_defaults else session_options(settings, echo_free=True)
    if not framework_defaults:
        stt_engine = streaming_stt(stt_engine, vad_model, settings)
    session: AgentSession[Any] = AgentSession(
        vad=vad_model, stt=stt_engine, llm=ButlerLLM(api), tts=tts_engine, **options
    )
    attach_session_behaviour(session, settings)
    session.input.audio = microphone
    # As in a room: words are released as their audio plays, so an interrupted reply is
    # stored as far as it was heard.
    captions = CapturedCaptions()
    synchronizer = TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=captions)
    session.output.audio = synchronizer.audio_output
    session.output.transcription = synchronizer.text_output
    result = TalkResult()
    if isinstance(stt_engine, PreflightSTT):
        stt_engine.on("transcription_started", result.transcription_starts.append)
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

    @session.on("speech_created")
    def _speech(event: Any) -> None:
        result.said += event.source == "say"

    @session.on("agent_false_interruption")
    def _false_interruption(event: Any) -> None:
        result.false_interruptions.append(bool(event.resumed))

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
        await synchronizer.aclose()
        await drain(reporting)
        await api.aclose()
        if isinstance(stt_engine, PreflightSTT):
            await stt_engine.aclose()  # the wrapper only: the engine may serve another talk

    for index in range(len(utterances)):
        end = microphone.speech_end_time(index)
        result.speech_ends.append(end)
        after = [t for t in speaker.first_frame_times if t > end]
        if after:
            result.end_to_first_audio.append(after[0] - end)
    result.audio, result.audio_rate = speaker.audio()
    result.pauses = speaker.pauses
    result.captions = captions.shown()
    return result
