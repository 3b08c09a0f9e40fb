"""Refresh tokens: opaque, stored as digests, rotated on every use.

Each login starts a family. Using a token replaces it with a new one in the same
family; presenting a token that was already replaced (a stolen copy, or a replay)
revokes the whole family, which logs out both the thief and the victim. Within a few
seconds of its rotation, though, a replaced token is two tabs refreshing at once, not a
theft: it gets a token of the same live session. A family ends for good SESSION_MAX
after its sign-in, however often it was refreshed.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from butler.auth.digest import digest
from butler.errors import NotAuthenticated
from butler.users.models import User
from butler.users.repository import COLUMNS_OF_U


@dataclass(frozen=True)
class IssuedRefresh:
    token: str
    user_id: uuid.UUID
    max_age_seconds: int
    family: uuid.UUID  # the sign-in: access tokens name it, and die with it


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
    return token_id, IssuedRefresh(token, user_id, int(ttl.total_seconds()), family)


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


# A replaced token presented again this soon is a second tab that refreshed at the same
# moment (they share one cookie), not a replay.
REUSE_GRACE = timedelta(seconds=10)


class ReuseDetected(NotAuthenticated):
    code = "refresh_reused"


async def rotate(
    conn: asyncpg.Connection, token: str, ttl: timedelta, *, max_age: timedelta
) -> IssuedRefresh:
    """Exchange a refresh token for a new one. Raises NotAuthenticated on any problem.

    A detected reuse revokes the family and commits that revocation before raising, so
    the caller must not wrap this in a transaction that the exception would roll back.
    """
    reused_family: uuid.UUID | None = None
    too_old = False
    async with conn.transaction():
        row = await conn.fetchrow(
            """SELECT t.id, t.user_id, t.family, t.revoked_at IS NOT NULL AS revoked,
                      t.expires_at <= now() AS expired,
                      t.replaced_by IS NOT NULL
                        AND t.revoked_at > now() - $2::interval AS just_rotated,
                      EXISTS (SELECT 1 FROM butler.refresh_tokens o
                              WHERE o.family = t.family AND o.revoked_at IS NULL
                                AND o.expires_at > now()) AS family_live,
                      (SELECT min(created_at) FROM butler.refresh_tokens o
                       WHERE o.family = t.family) <= now() - $3::interval AS too_old
               FROM butler.refresh_tokens t WHERE t.token_hash = $1 FOR UPDATE OF t""",
            digest(token),
            REUSE_GRACE,
            max_age,
        )
        if row is None:
            raise NotAuthenticated("Please sign in again.", code="invalid_refresh")
        if row["too_old"]:
            await revoke_family(conn, row["family"])
            too_old = True
        elif row["revoked"] and row["just_rotated"] and row["family_live"]:
            _, issued = await _insert(conn, row["user_id"], row["family"], ttl)
            return issued
        elif row["revoked"]:
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
    if too_old:  # raised once the family's end is committed
        raise NotAuthenticated(
            "Your session has reached its time limit; sign in again.", code="session_too_old"
        )
    assert reused_family is not None
    raise ReuseDetected("This session was signed out for your safety; sign in again.")


async def signed_in_user(
    conn: asyncpg.Connection, user_id: uuid.UUID, family: uuid.UUID
) -> User | None:
    """The person, while the sign-in `family` is live (not signed out, not expired)."""
    row = await conn.fetchrow(
        f"""SELECT {COLUMNS_OF_U} FROM butler.users u
            WHERE u.id = $1 AND EXISTS (
                SELECT 1 FROM butler.refresh_tokens t
                WHERE t.family = $2 AND t.user_id = u.id
                  AND t.revoked_at IS NULL AND t.expires_at > now())""",
        user_id,
        family,
    )
    return User.from_record(row) if row else None


async def revoke(conn: asyncpg.Connection, token: str) -> uuid.UUID | None:
    """Log out: forget the family the token belongs to (unknown tokens are ignored).
    Returns whose session it was.

    Deleted rather than marked revoked: a cookie of a session its owner ended is then
    just unknown ("sign in again"), never mistaken for a stolen, replayed one ("signed
    out for your safety"); a revoked family stays only as the evidence of a replay."""
    row = await conn.fetchrow(
        "SELECT family, user_id FROM butler.refresh_tokens WHERE token_hash = $1", digest(token)
    )
    if row is None:
        return None
    await conn.execute("DELETE FROM butler.refresh_tokens WHERE family = $1", row["family"])
    user_id: uuid.UUID = row["user_id"]
    return user_id


async def forget_all(conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
    """End every session of a person (their password changed): each device signs in anew."""
    await conn.execute("DELETE FROM butler.refresh_tokens WHERE user_id = $1", user_id)
