"""What a voice session tells the Butler API besides the turns themselves: the part of
an interrupted reply that was actually spoken, and each turn's stage timings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession, metrics

from butler.voice.butler_llm import ButlerAPI

log = logging.getLogger(__name__)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None or seconds < 0 else round(seconds * 1000)


@dataclass
class TurnTimings:
    endpointing: float | None = None
    stt: float | None = None
    tts_first_byte: float | None = None
    speech_ended_at: float | None = None
    first_audio_at: float | None = None
    pending: set[asyncio.Task[None]] = field(default_factory=set)


def attach_reporting(session: AgentSession[Any], api: ButlerAPI) -> TurnTimings:
    timings = TurnTimings()

    def spawn(body: Any) -> None:
        task = asyncio.create_task(body)
        timings.pending.add(task)
        task.add_done_callback(timings.pending.discard)

    @session.on("metrics_collected")
    def _metrics(event: Any) -> None:
        collected = event.metrics
        if isinstance(collected, metrics.EOUMetrics):
            timings.endpointing = collected.end_of_utterance_delay
            timings.stt = collected.transcription_delay
        elif isinstance(collected, metrics.TTSMetrics) and timings.tts_first_byte is None:
            timings.tts_first_byte = collected.ttfb

    @session.on("user_state_changed")
    def _user(event: Any) -> None:
        if event.old_state == "speaking" and event.new_state == "listening":
            timings.speech_ended_at = event.created_at
            timings.first_audio_at = None
            timings.tts_first_byte = None

    @session.on("agent_state_changed")
    def _agent(event: Any) -> None:
        if event.new_state == "speaking" and timings.first_audio_at is None:
            timings.first_audio_at = event.created_at

    @session.on("conversation_item_added")
    def _item(event: Any) -> None:
        item = event.item
        if getattr(item, "role", None) != "assistant":
            return
        outcome = api.outcome
        interrupted = bool(getattr(item, "interrupted", False))
        if interrupted and outcome.turn_id:
            spawn(
                api.report(
                    "/api/voice/interrupted",
                    {
                        "turn_id": outcome.turn_id,
                        "transcript": outcome.transcript or "…",
                        "delivered_text": (item.text_content or "")[:8000],
                        "session_id": api.session_id,
                    },
                )
            )
        first_audio = None
        if timings.speech_ended_at is not None and timings.first_audio_at is not None:
            first_audio = timings.first_audio_at - timings.speech_ended_at
        turn = {
            "session_id": api.session_id,
            "endpointing_ms": _ms(timings.endpointing),
            "stt_ms": _ms(timings.stt),
            "llm_first_token_ms": None
            if outcome.first_token_ms is None
            else round(outcome.first_token_ms),
            "tts_first_byte_ms": _ms(timings.tts_first_byte),
            "first_audio_ms": _ms(first_audio),
            "total_ms": _ms(first_audio),
            "interrupted": interrupted,
        }
        log.info("voice turn %s", {k: v for k, v in turn.items() if k != "session_id"})
        spawn(api.report("/api/voice/turns", turn))

    return timings


async def drain(timings: TurnTimings) -> None:
    """Let reports in flight finish before the session's HTTP client closes."""
    if timings.pending:
        await asyncio.wait(set(timings.pending), timeout=5)
