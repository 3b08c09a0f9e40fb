"""Run the voice session in-process with no LiveKit server (see simulated_io for the
audio in and out). `butler talk`, the tests and the latency benchmark all use this, with
the worker's session settings, except that no echo can reach the microphone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from livekit.agents import Agent, AgentSession, stt, tts, vad
from livekit.agents.voice.transcription.synchronizer import TranscriptSynchronizer

from butler.config import VoiceSettings
from butler.voice.agent import ButlerAgent
from butler.voice.butler_llm import ButlerAPI, ButlerLLM
from butler.voice.preflight_stt import PreflightSTT, TranscriptionStarted
from butler.voice.providers import session_vad, streaming_stt
from butler.voice.reporting import attach_reporting, drain
from butler.voice.session_setup import attach_session_behaviour, session_options
from butler.voice.simulated_io import (
    CapturedCaptions,
    CapturedSpeaker,
    ScheduledMicrophone,
    Utterance,
)


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
    reply_starts: list[float] = field(default_factory=list)  # perf_counter, first frames
    heard: list[str] = field(default_factory=list)  # final transcripts the session took
    transcribed: list[str] = field(default_factory=list)  # every final one the STT made
    turn_times: list[float] = field(default_factory=list)  # perf_counter, per transcript
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
    until_answered: bool = False,
) -> TalkResult:
    """Play the utterances into a session and collect what happened, for `tail_seconds`
    after the last one (or, with `until_answered`, until the butler has finished
    speaking after it, at most that long: a slow machine still hears the whole reply).

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
        vad_model = session_vad(vad_model)
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
        stt_engine.on("final_transcript", result.transcribed.append)
    closed = asyncio.Event()

    @session.on("conversation_item_added")
    def _item(event: Any) -> None:
        item = event.item
        role = getattr(item, "role", None)  # handoffs and tool items have none
        text = (getattr(item, "text_content", None) or "").strip()
        if role == "user":
            result.transcripts.append(text)
            result.turn_times.append(time.perf_counter())
        elif role == "assistant":
            result.replies.append(text)
            result.interrupted.append(bool(getattr(item, "interrupted", False)))
            if api.outcome.first_token_ms is not None:
                result.llm_first_token_ms.append(api.outcome.first_token_ms)

    @session.on("user_input_transcribed")
    def _heard(event: Any) -> None:
        if event.is_final and event.transcript.strip():
            result.heard.append(event.transcript.strip())

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
    last_end = max((u.at + len(u.samples) / rate for u in utterances), default=0.0)
    answered = asyncio.Event()
    spoke_since_last = False

    @session.on("agent_state_changed")
    def _answered(event: Any) -> None:
        nonlocal spoke_since_last
        if time.perf_counter() < all_said_at:
            return
        if event.new_state == "speaking":
            spoke_since_last = True
        elif spoke_since_last and event.new_state == "listening" and until_answered:
            answered.set()

    all_said_at = time.perf_counter() + last_end
    await session.start(agent)
    waits = [asyncio.ensure_future(closed.wait()), asyncio.ensure_future(answered.wait())]
    try:
        await asyncio.wait(
            waits, timeout=last_end + tail_seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiting in waits:
            waiting.cancel()
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
    result.reply_starts = list(speaker.first_frame_times)
    result.audio, result.audio_rate = speaker.audio()
    result.pauses = speaker.pauses
    result.captions = captions.shown()
    return result
