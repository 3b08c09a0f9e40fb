"""Refresh tokens: opaque, stored as digests, rotated on every use.

Each login starts a family. Using a token replaces it with a new one in the same
family; presenting a token that was already replaced (a stolen copy, or a replay)
revokes the whole family, which logs out both the thief and the victim.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from butler.auth.digest import digest
from butler.errors import NotAuthenticated


@dataclass(frozen=True)
class IssuedRefresh:
    token: str
    user_id: uuid.UUID
    max_age_seconds: int


async def _insert(
    conn: asyncpg.Connection, user_id: uuid.UUID, family: uuid.UUID, ttl: timedelta
) -> tuple[uuid.UUID, IssuedRefresh]:
    token = secrets.token_urlsafe(32)
    token_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO butler.refresh_tokens (user_id, token_hash, family, expires_at)
           VALUES ($1, $2, $3, now() + $4) RETURNING id""",
        user_id,
        digest(token),
        family,
        ttl,
    )
    return token_id, IssuedRefresh(token, user_id, int(ttl.total_seconds()))


async def start_family(
    conn: asyncpg.Connection, user_id: uuid.UUID, ttl: timedelta
) -> IssuedRefresh:
    _, issued = await _insert(conn, user_id, uuid.uuid4(), ttl)
    return issued


async def revoke_family(conn: asyncpg.Connection, family: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE butler.refresh_tokens SET revoked_at = now() "
        "WHERE family = $1 AND revoked_at IS NULL",
        family,
    )


class ReuseDetected(NotAuthenticated):
    code = "refresh_reused"


async def rotate(conn: asyncpg.Connection, token: str, ttl: timedelta) -> IssuedRefresh:
    """Exchange a refresh token for a new one. Raises NotAuthenticated on any problem.

    A detected reuse revokes the family and commits that revocation before raising, so
    the caller must not wrap this in a transaction that the exception would roll back.
    """
    reused_family: uuid.UUID | None = None
    async with conn.transaction():
        row = await conn.fetchrow(
            """SELECT id, user_id, family, revoked_at IS NOT NULL AS revoked,
                      expires_at <= now() AS expired
               FROM butler.refresh_tokens WHERE token_hash = $1 FOR UPDATE""",
            digest(token),
        )
        if row is None:
            raise NotAuthenticated("Please sign in again.", code="invalid_refresh")
        if row["revoked"]:
            await revoke_family(conn, row["family"])
            reused_family = row["family"]
        elif row["expired"]:
            raise NotAuthenticated(
                "Your session has expired; sign in again.", code="refresh_expired"
            )
        else:
            new_id, issued = await _insert(conn, row["user_id"], row["family"], ttl)
            await conn.execute(
                "UPDATE butler.refresh_tokens SET revoked_at = now(), replaced_by = $2 "
                "WHERE id = $1",
                row["id"],
                new_id,
            )
            return issued
    assert reused_family is not None
    raise ReuseDetected("This session was signed out for your safety; sign in again.")


async def revoke(conn: asyncpg.Connection, token: str) -> uuid.UUID | None:
    """Log out: revoke the family the token belongs to (unknown tokens are ignored).
    Returns whose session it was."""
    row = await conn.fetchrow(
        "SELECT family, user_id FROM butler.refresh_tokens WHERE token_hash = $1", digest(token)
    )
    if row is None:
        return None
    await revoke_family(conn, row["family"])
    user_id: uuid.UUID = row["user_id"]
    return user_id
