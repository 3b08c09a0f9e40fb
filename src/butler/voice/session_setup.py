"""The voice session's settings and behaviour, the same for the LiveKit worker and for
the in-process harness (`butler talk`, the tests, the benchmark)."""

from __future__ import annotations

import contextlib
from typing import Any

from livekit.agents import AgentSession, stt

from butler.config import VoiceSettings
from butler.voice.butler_llm import ButlerLLM
from butler.voice.command_endings import CommandEndings
from butler.voice.preflight_stt import PreflightSTT, TranscriptionFailed
from butler.voice.turn_detector import ButlerTurnDetector
from butler.voice.turn_models import load_turn_model


def session_options(settings: VoiceSettings, *, echo_free: bool = False) -> dict[str, Any]:
    """Turn handling set explicitly: nothing may fall back to LiveKit Cloud models.

    `echo_free`: the microphone cannot hear the butler (the in-process harness), so no
    time is needed for an echo canceller to settle before speech over a reply counts."""
    return {
        "aec_warmup_duration": None if echo_free else settings.aec_warmup_seconds or None,
        "turn_handling": {
            # VAD ends speech; the end-of-turn judgement (the text rule and an audio
            # model, both local) decides between the short and the long endpointing
            # delay (a half-finished sentence waits for more).
            "turn_detection": turn_detector(settings),
            "endpointing": {
                "min_delay": settings.endpointing_min_delay_seconds,
                "max_delay": settings.endpointing_max_delay_seconds,
            },
            # The LLM and TTS start on the final transcript, before the endpointing wait
            # ends: the wait lets a hesitating speaker carry on without costing latency.
            # The preflight transcript, a changed final one and a restart after a pause
            # each start one; more than livekit's 3 are needed for a hesitant speaker.
            "preemptive_generation": {"enabled": True, "preemptive_tts": True, "max_retries": 6},
            # Speech over the reply pauses it. If no request is heard in it (a cough, "hmm",
            # "mm-hmm": see non_speech), the reply resumes where it paused, this long after
            # the sound ends (time enough for a batch STT to transcribe it).
            "interruption": {
                "mode": "vad",
                # Short, so the butler stops at once (livekit's 0.5 s lets it talk over
                # the person); a sound that asks nothing resumes the reply anyway.
                "min_duration": settings.interrupt_after_seconds,
                "resume_false_interruption": True,
                "false_interruption_timeout": 1.0,
            },
        },
    }


def turn_detector(settings: VoiceSettings) -> ButlerTurnDetector:
    return ButlerTurnDetector(
        text=settings.end_of_turn.startswith("text"),
        audio_model=load_turn_model(settings.end_of_turn, settings.smart_turn_model),
        unsure_delay=settings.endpointing_unsure_delay_seconds,
    )


def attach_session_behaviour(session: AgentSession[Any], settings: VoiceSettings) -> None:
    """Call once, after creating the session and before starting it."""
    detector = session.options.turn_handling.get("turn_detection")
    if isinstance(detector, ButlerTurnDetector) and isinstance(session.stt, PreflightSTT):
        detector.follow(session.stt)  # its words and its audio
        if isinstance(session.llm, ButlerLLM):
            endings = CommandEndings(session, session.stt, detector, settings)
            session.llm.api.complete_command = endings.recognised

    @session.on("error")
    def _error(event: Any) -> None:
        error = event.error
        if isinstance(error, stt.STTError) and isinstance(error.error, TranscriptionFailed):
            # Every STT (and its fallback) failed on what the user said: tell them, rather
            # than leave them waiting for an answer to words nobody heard.
            with contextlib.suppress(RuntimeError):  # the session is closing
                session.say(settings.unheard_apology, add_to_chat_ctx=False)
