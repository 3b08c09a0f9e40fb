"""One-time invite codes. Only a digest of each code is stored."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from butler.auth.digest import digest
from butler.errors import InvalidInput
from butler.users.models import Role

# Crockford-style alphabet: no I, L, O, U, so a code read aloud or typed is unambiguous.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUPS, _GROUP_LENGTH = 5, 5  # 25 symbols x 5 bits = 125 bits


@dataclass(frozen=True)
class Invite:
    id: uuid.UUID
    code: str
    role: Role
    expires_at: datetime


def normalize(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code() -> str:
    """A fresh one-time code (invites, password resets): 125 random bits, typeable."""
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return "-".join(groups)


async def create(
    conn: asyncpg.Connection,
    *,
    role: Role,
    ttl: timedelta,
    created_by: uuid.UUID | None = None,
) -> Invite:
    code = new_code()
    row: asyncpg.Record = await conn.fetchrow(  # type: ignore[assignment]  # INSERT … RETURNING: one row
        """INSERT INTO butler.invites (code_hash, role, created_by, expires_at)
           VALUES ($1, $2, $3, now() + $4) RETURNING id, expires_at""",
        digest(normalize(code)),
        role.value,
        created_by,
        ttl,
    )
    return Invite(id=row["id"], code=code, role=role, expires_at=row["expires_at"])


@dataclass(frozen=True)
class PendingInvite:
    id: uuid.UUID
    role: Role
    created_by: str | None  # the admin's display name, if they are still here
    created_at: datetime
    expires_at: datetime


async def pending(conn: asyncpg.Connection) -> list[PendingInvite]:
    """Invites that can still be used, newest first (the codes themselves are not kept)."""
    rows = await conn.fetch(
        """SELECT i.id, i.role, u.display_name AS created_by, i.created_at, i.expires_at
             FROM butler.invites i LEFT JOIN butler.users u ON u.id = i.created_by
            WHERE i.used_at IS NULL AND i.expires_at > now()
            ORDER BY i.created_at DESC, i.id"""
    )
    return [
        PendingInvite(
            id=r["id"],
            role=Role(r["role"]),
            created_by=r["created_by"],
            created_at=r["created_at"],
            expires_at=r["expires_at"],
        )
        for r in rows
    ]


async def revoke(conn: asyncpg.Connection, invite_id: uuid.UUID) -> bool:
    """Make an unused invite unusable (a link sent to the wrong person); False if there
    is no such unused invite. A used one stays as the record of who joined through it."""
    result = await conn.execute(
        "DELETE FROM butler.invites WHERE id = $1 AND used_at IS NULL", invite_id
    )
    return result != "DELETE 0"


@dataclass(frozen=True)
class ClaimedInvite:
    id: uuid.UUID
    role: Role


async def claim(conn: asyncpg.Connection, code: str) -> ClaimedInvite:
    """Lock a usable invite for this transaction, or raise InvalidInput saying why not.

    The row lock makes a code single-use even when two registrations race for it: the
    second waits, then sees `used_at` set.
    """
    row = await conn.fetchrow(
        """SELECT id, role, used_at IS NOT NULL AS used, expires_at <= now() AS expired
           FROM butler.invites WHERE code_hash = $1 FOR UPDATE""",
        digest(normalize(code)),
    )
    if row is None:
        raise InvalidInput("That invite code is not valid.", code="invalid_invite")
    if row["used"]:
        raise InvalidInput("That invite code has already been used.", code="invite_used")
    if row["expired"]:
        raise InvalidInput(
            "That invite code has expired; ask an admin for a new one.", code="invite_expired"
        )
    return ClaimedInvite(id=row["id"], role=Role(row["role"]))


async def mark_used(conn: asyncpg.Connection, invite_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE butler.invites SET used_at = now(), used_by = $2 WHERE id = $1",
        invite_id,
        user_id,
    )
