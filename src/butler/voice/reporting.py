"""What a voice session tells the Butler API besides the turns themselves: the part of
an interrupted reply that was actually spoken, and each turn's stage timings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession

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

    @session.on("user_state_changed")
    def _user(event: Any) -> None:
        if event.old_state == "speaking" and event.new_state == "listening":
            timings.speech_ended_at = event.created_at
            timings.first_audio_at = None

    @session.on("agent_state_changed")
    def _agent(event: Any) -> None:
        if event.new_state == "speaking" and timings.first_audio_at is None:
            timings.first_audio_at = event.created_at

    @session.on("conversation_item_added")
    def _item(event: Any) -> None:
        # livekit-agents 1.8 puts each turn's latencies on its ChatMessage (`metrics`):
        # endpointing and STT on the user's message, TTS on the reply.
        item = event.item
        role = getattr(item, "role", None)
        report: dict[str, float] = getattr(item, "metrics", None) or {}
        if role == "user":
            timings.endpointing = report.get("end_of_turn_delay")
            timings.stt = report.get("transcription_delay")
            return
        if role != "assistant":
            return
        timings.tts_first_byte = report.get("tts_node_ttfb")
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
        api.next_turn()

    return timings


async def drain(timings: TurnTimings) -> None:
    """Let reports in flight finish before the session's HTTP client closes."""
    if timings.pending:
        await asyncio.wait(set(timings.pending), timeout=5)
