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


# The stages in the order they happen after the person stops speaking, then the total.
CHARTED = ("endpointing_ms", "stt_ms", "llm_first_token_ms", "tts_first_byte_ms", "first_audio_ms")


async def daily_percentiles(
    conn: asyncpg.Connection, *, days: int, timezone: str
) -> list[dict[str, object]]:
    """Per day (in `timezone`), newest first: the number of turns and the p50 and p95 of
    each stage, over turns that were not interrupted."""
    columns = ",\n".join(
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {s}) AS {s}_p50, "
        f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {s}) AS {s}_p95"
        for s in CHARTED
    )
    rows = await conn.fetch(
        f"""SELECT (created_at AT TIME ZONE $2)::date AS day, count(*) AS turns,
                   {columns}
            FROM butler.voice_turns
            WHERE created_at > now() - make_interval(days => $1) AND NOT interrupted
            GROUP BY day ORDER BY day DESC""",
        days,
        timezone,
    )
    return [dict(row) for row in rows]


async def recent(conn: asyncpg.Connection, *, limit: int) -> list[dict[str, object]]:
    """The latest turns with their stages and whose they were, newest first."""
    rows = await conn.fetch(
        f"""SELECT t.id, t.created_at, t.interrupted, u.display_name,
                   {", ".join(f"t.{s}" for s in STAGES)}
            FROM butler.voice_turns t JOIN butler.users u ON u.id = t.user_id
            ORDER BY t.created_at DESC, t.id DESC LIMIT $1""",
        limit,
    )
    return [dict(row) for row in rows]
