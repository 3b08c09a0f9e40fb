"""One-time password reset codes: an admin makes one for a member who forgot their
password and hands over the link; using it sets a new password and ends every session
the member had. Only a digest of each code is stored; a new code replaces an unused one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from butler.auth.digest import digest
from butler.auth.invites import new_code, normalize
from butler.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class PasswordReset:
    code: str
    expires_at: datetime


async def create(
    conn: asyncpg.Connection, user_id: uuid.UUID, *, ttl: timedelta, created_by: uuid.UUID
) -> PasswordReset:
    code = new_code()
    async with conn.transaction():
        if not await conn.fetchval("SELECT 1 FROM butler.users WHERE id = $1", user_id):
            raise NotFound("No such person in this household.", code="user_not_found")
        await conn.execute(
            "DELETE FROM butler.password_resets WHERE user_id = $1 AND used_at IS NULL", user_id
        )
        expires_at: datetime = await conn.fetchval(
            """INSERT INTO butler.password_resets (user_id, code_hash, created_by, expires_at)
               VALUES ($1, $2, $3, now() + $4) RETURNING expires_at""",
            user_id,
            digest(normalize(code)),
            created_by,
            ttl,
        )
    return PasswordReset(code=code, expires_at=expires_at)


async def claim(conn: asyncpg.Connection, code: str) -> uuid.UUID:
    """Use a reset code (inside the caller's transaction); whose password it resets."""
    row = await conn.fetchrow(
        """SELECT id, user_id, used_at IS NOT NULL AS used, expires_at <= now() AS expired
           FROM butler.password_resets WHERE code_hash = $1 FOR UPDATE""",
        digest(normalize(code)),
    )
    if row is None or row["used"]:
        raise InvalidInput(
            "That reset link is not valid (or was used already); ask an admin for a new one.",
            code="invalid_reset",
        )
    if row["expired"]:
        raise InvalidInput(
            "That reset link has expired; ask an admin for a new one.", code="reset_expired"
        )
    await conn.execute("UPDATE butler.password_resets SET used_at = now() WHERE id = $1", row["id"])
    user_id: uuid.UUID = row["user_id"]
    return user_id
