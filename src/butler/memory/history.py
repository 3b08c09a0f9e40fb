"""butler.conversation_history: one shared history per person across every channel.

Only completed turns are written, the user's message and the reply together, after the
reply has streamed. A `turn_id` (the voice worker's id for one user utterance) makes the
write idempotent: a turn that is generated again replaces the earlier copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    channel: str
    session_id: str | None
    role: str
    content: str
    created_at: datetime
    metadata: dict[str, Any]


_COLUMNS = "id, channel, session_id, role, content, created_at, metadata"


def _entry(record: Any) -> HistoryEntry:
    return HistoryEntry(**dict(record))


async def recent(
    conn: asyncpg.Connection, user_id: uuid.UUID, *, window: timedelta, limit: int
) -> list[HistoryEntry]:
    """The newest `limit` user/assistant messages inside the window, oldest first."""
    records = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM butler.conversation_history
            WHERE user_id = $1 AND created_at > now() - $2::interval
              AND role IN ('user', 'assistant')
            ORDER BY created_at DESC, id DESC LIMIT $3""",
        user_id,
        window,
        limit,
    )
    return [_entry(r) for r in reversed(records)]


@dataclass(frozen=True)
class CompletedTurn:
    user_id: uuid.UUID
    channel: str
    session_id: str | None
    user_text: str
    reply_text: str
    turn_id: str | None = None
    reply_metadata: dict[str, Any] | None = None


async def save_turn(conn: asyncpg.Connection, turn: CompletedTurn) -> int:
    """Write the user's message and the reply in one transaction; return the reply's id."""
    user_meta: dict[str, Any] = {"turn_id": turn.turn_id} if turn.turn_id else {}
    reply_meta = {**user_meta, **(turn.reply_metadata or {})}
    insert = (
        # One statement, so both rows land or neither; ids follow the VALUES order.
        """INSERT INTO butler.conversation_history
               (user_id, channel, session_id, role, content, metadata)
           VALUES ($1, $2, $3, 'user', $4, $5), ($1, $2, $3, 'assistant', $6, $7)
           RETURNING id""",
        turn.user_id,
        turn.channel,
        turn.session_id,
        turn.user_text,
        user_meta,
        turn.reply_text,
        reply_meta,
    )
    if not turn.turn_id:
        rows = await conn.fetch(*insert)
        return max(int(r["id"]) for r in rows)
    async with conn.transaction():
        # Serialise writers of the same turn, then drop any earlier copy of it.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"{turn.user_id}:{turn.turn_id}",
        )
        await conn.execute(
            """DELETE FROM butler.conversation_history
               WHERE user_id = $1 AND metadata->>'turn_id' = $2""",
            turn.user_id,
            turn.turn_id,
        )
        rows = await conn.fetch(*insert)
    return max(int(r["id"]) for r in rows)


async def page(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    *,
    before: int | None,
    limit: int,
    containing: str | None = None,
) -> list[HistoryEntry]:
    """Newest first, `limit` entries with id < before (cursor paging); with `containing`,
    only those whose text contains it, in any case (one household's history is small
    enough to read through)."""
    records = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM butler.conversation_history
            WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2)
              AND ($4::text IS NULL OR strpos(lower(content), lower($4)) > 0)
            ORDER BY id DESC LIMIT $3""",
        user_id,
        before,
        limit,
        containing,
    )
    return [_entry(r) for r in records]


async def clear(conn: asyncpg.Connection, user_id: uuid.UUID) -> int:
    result = await conn.execute(
        "DELETE FROM butler.conversation_history WHERE user_id = $1", user_id
    )
    return int(result.split()[-1])


async def forget_turn(conn: asyncpg.Connection, user_id: uuid.UUID, message_id: int) -> int:
    """Delete one of the person's messages and its other half: a question's reply, or a
    reply's question (save_turn writes both in one statement, so they share created_at).
    A message with no other half (a reminder sent by itself) goes alone. Returns how many
    rows went: 0 when the id is not this person's."""
    result = await conn.execute(
        """WITH target AS (
               SELECT id, role, created_at FROM butler.conversation_history
                WHERE id = $2 AND user_id = $1
           ), other_half AS (
               SELECT h.id FROM butler.conversation_history h, target t
                WHERE h.user_id = $1 AND h.created_at = t.created_at
                  AND ((t.role = 'user' AND h.role = 'assistant' AND h.id > t.id)
                    OR (t.role = 'assistant' AND h.role = 'user' AND h.id < t.id))
                ORDER BY abs(h.id - t.id) LIMIT 1
           )
           DELETE FROM butler.conversation_history
            WHERE user_id = $1
              AND id IN (SELECT id FROM target UNION ALL SELECT id FROM other_half)""",
        user_id,
        message_id,
    )
    return int(result.split()[-1])


async def mark_interrupted(
    conn: asyncpg.Connection, user_id: uuid.UUID, turn_id: str, delivered_text: str
) -> bool:
    """Keep only what was actually spoken of a stored reply; False if no such turn."""
    result = await conn.execute(
        """UPDATE butler.conversation_history
           SET content = $3,
               metadata = metadata || jsonb_build_object('interrupted', true,
                                                         'generated_text', content)
           WHERE user_id = $1 AND role = 'assistant' AND metadata->>'turn_id' = $2""",
        user_id,
        turn_id,
        delivered_text,
    )
    return result != "UPDATE 0"


async def reply_to_turn(conn: asyncpg.Connection, user_id: uuid.UUID, turn_id: str) -> str | None:
    """The stored reply of the turn with this id, if it completed (a channel that runs a
    turn once per received message asks before running it again)."""
    reply = await conn.fetchval(
        """SELECT content FROM butler.conversation_history
           WHERE user_id = $1 AND role = 'assistant' AND metadata->>'turn_id' = $2
           ORDER BY id DESC LIMIT 1""",
        user_id,
        turn_id,
    )
    return None if reply is None else str(reply)
