"""butler.voice_sessions: the rooms the API opened, and whether their credential still works.

A voice-session credential is a signed JWT, but a signature alone cannot be taken back.
Each one is also a row here: the credential works only while its room's row is open,
for the person and the credential id it was minted with. The row closes when the room
ends, when the person leaves it, or when they sign out.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from butler.auth.tokens import TokenService
from butler.users import repository as users
from butler.users.models import User


async def start(
    conn: asyncpg.Connection, tokens: TokenService, user_id: uuid.UUID, room_name: str
) -> str:
    """A credential for the worker in `room_name`, acting for `user_id`, and its open row."""
    issued = tokens.issue_voice(user_id, room_name)
    await open_session(
        conn,
        room_name=room_name,
        user_id=user_id,
        credential_id=issued.credential_id,
        expires_at=datetime.fromtimestamp(issued.expires_at, UTC),
    )
    return issued.token


async def open_session(
    conn: asyncpg.Connection,
    *,
    room_name: str,
    user_id: uuid.UUID,
    credential_id: str,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO butler.voice_sessions (room_name, user_id, credential_id, expires_at)
           VALUES ($1, $2, $3, $4)""",
        room_name,
        user_id,
        credential_id,
        expires_at,
    )


async def caller(
    conn: asyncpg.Connection,
    *,
    room_name: str,
    user_id: uuid.UUID,
    credential_id: str,
    grace_seconds: float = 0.0,
) -> User | None:
    """The person, if this credential's room is still open for them; one indexed query.

    `grace_seconds`: a room that ended that recently, other than by sign-out, still
    counts, so the worker can file the session's last records as the person leaves."""
    record = await conn.fetchrow(
        f"""SELECT {users.COLUMNS_OF_U} FROM butler.voice_sessions s
            JOIN butler.users u ON u.id = s.user_id
            WHERE s.room_name = $1 AND s.user_id = $2 AND s.credential_id = $3
              AND s.expires_at > now()
              AND (s.ended_at IS NULL
                   OR (s.end_reason <> 'signed_out'
                       AND s.ended_at > now() - make_interval(secs => $4)))""",
        room_name,
        user_id,
        credential_id,
        grace_seconds,
    )
    return User.from_record(record) if record else None


async def end(conn: asyncpg.Connection, room_name: str, reason: str) -> bool:
    """Close one room's session; False if it was unknown or already closed."""
    closed: str | None = await conn.fetchval(
        """UPDATE butler.voice_sessions SET ended_at = now(), end_reason = $2
           WHERE room_name = $1 AND ended_at IS NULL RETURNING room_name""",
        room_name,
        reason,
    )
    return closed is not None


async def end_all_for(conn: asyncpg.Connection, user_id: uuid.UUID, reason: str) -> list[str]:
    """Close every open session of one person; returns their rooms."""
    rows = await conn.fetch(
        """UPDATE butler.voice_sessions SET ended_at = now(), end_reason = $2
           WHERE user_id = $1 AND ended_at IS NULL RETURNING room_name""",
        user_id,
        reason,
    )
    return [row["room_name"] for row in rows]


async def is_open(conn: asyncpg.Connection, room_name: str) -> bool:
    """Whether the room's session is still on (not ended, not expired)."""
    found = await conn.fetchval(
        """SELECT 1 FROM butler.voice_sessions
           WHERE room_name = $1 AND ended_at IS NULL AND expires_at > now()""",
        room_name,
    )
    return found is not None


async def owner(conn: asyncpg.Connection, room_name: str) -> uuid.UUID | None:
    """Whose room this is (open or not); None for a room the API never opened."""
    user_id: uuid.UUID | None = await conn.fetchval(
        "SELECT user_id FROM butler.voice_sessions WHERE room_name = $1", room_name
    )
    return user_id
