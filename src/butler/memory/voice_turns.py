"""butler.voice_turns: per-turn stage timings reported by the voice worker."""

from __future__ import annotations

import uuid

import asyncpg

STAGES = (
    "endpointing_ms",
    "stt_ms",
    "llm_first_token_ms",
    "tts_first_byte_ms",
    "first_audio_ms",
    "total_ms",
)


async def record(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    session_id: str,
    room_name: str | None,
    timings: dict[str, int | None],
    interrupted: bool,
) -> None:
    await conn.execute(
        f"""INSERT INTO butler.voice_turns
            (user_id, session_id, room_name, {", ".join(STAGES)}, interrupted)
            VALUES ($1, $2, $3, {", ".join(f"${i + 4}" for i in range(len(STAGES)))}, $10)""",
        user_id,
        session_id,
        room_name,
        *(timings.get(stage) for stage in STAGES),
        interrupted,
    )
