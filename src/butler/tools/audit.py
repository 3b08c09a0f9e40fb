"""butler.tool_usage: one row for every tool call, whatever its outcome."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from butler.tools.registry import ToolOutcome

_MAX_RESULT_CHARS = 4000


async def record(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    channel: str,
    session_id: str | None,
    outcomes: list[ToolOutcome],
) -> None:
    rows: list[tuple[Any, ...]] = [
        (
            user_id,
            channel,
            session_id,
            o.call.name,
            o.call.arguments,
            {"content": o.content[:_MAX_RESULT_CHARS]},
            o.status,
            o.duration_ms,
        )
        for o in outcomes
    ]
    await conn.executemany(
        """INSERT INTO butler.tool_usage
           (user_id, channel, session_id, tool_name, arguments, result, status, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        rows,
    )
