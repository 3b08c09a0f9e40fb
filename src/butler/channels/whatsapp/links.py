"""Which person writes from which number: linking with a six-digit code sent to that
number on WhatsApp, and the lookups the channel needs.

A code is stored hashed, lasts CODE_TTL, allows MAX_ATTEMPTS guesses and may be asked
for again after RESEND_AFTER: a million codes against five guesses a code.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from butler.errors import Conflict, InvalidInput, RateLimited
from butler.users.models import User
from butler.users.repository import COLUMNS_OF_U

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=30)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass(frozen=True)
class Link:
    phone_number: str  # E.164 digits without '+', as WhatsApp names senders
    voice_replies: bool
    linked_at: datetime


@dataclass(frozen=True)
class PendingCode:
    phone_number: str
    expires_at: datetime


def whatsapp_id(phone_number: str) -> str:
    """'+44 7700 900123' → '447700900123'; InvalidInput unless it is an E.164 number."""
    compact = re.sub(r"[\s\-().]", "", phone_number)
    if not _E164.match(compact):
        raise InvalidInput(
            "phone_number must be in international form: + then country code and number, "
            "e.g. +447700900123"
        )
    return compact[1:]


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _hash(user_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{code}".encode()).hexdigest()


async def link_of(conn: asyncpg.Connection, user_id: uuid.UUID) -> Link | None:
    row = await conn.fetchrow(
        """SELECT phone_number, voice_replies, linked_at
           FROM butler.whatsapp_links WHERE user_id = $1""",
        user_id,
    )
    return Link(row["phone_number"], row["voice_replies"], row["linked_at"]) if row else None


async def pending_code(conn: asyncpg.Connection, user_id: uuid.UUID) -> PendingCode | None:
    row = await conn.fetchrow(
        """SELECT phone_number, expires_at FROM butler.whatsapp_link_codes
           WHERE user_id = $1 AND expires_at > now() AND attempts < $2""",
        user_id,
        MAX_ATTEMPTS,
    )
    return PendingCode(row["phone_number"], row["expires_at"]) if row else None


async def person_at(conn: asyncpg.Connection, phone_number: str) -> tuple[User, Link] | None:
    row = await conn.fetchrow(
        f"""SELECT {COLUMNS_OF_U}, l.phone_number, l.voice_replies, l.linked_at
            FROM butler.whatsapp_links l JOIN butler.users u ON u.id = l.user_id
            WHERE l.phone_number = $1""",
        phone_number,
    )
    if row is None:
        return None
    return User.from_record(row), Link(row["phone_number"], row["voice_replies"], row["linked_at"])


async def start_linking(
    conn: asyncpg.Connection, user_id: uuid.UUID, phone_number: str, code: str
) -> None:
    """Record `code` for linking `phone_number` (WhatsApp id form) to the person; the
    caller sends it. Conflict if someone else has the number; RateLimited if a code was
    asked for moments ago."""
    owner = await conn.fetchval(
        "SELECT user_id FROM butler.whatsapp_links WHERE phone_number = $1", phone_number
    )
    if owner is not None and owner != user_id:
        raise Conflict("That number is linked to another person in this household.")
    last = await conn.fetchval(
        "SELECT now() - created_at FROM butler.whatsapp_link_codes WHERE user_id = $1", user_id
    )
    if last is not None and last < RESEND_AFTER:
        wait = int((RESEND_AFTER - last).total_seconds()) + 1
        raise RateLimited(f"A code was just sent; ask again in {wait} s.", retry_after_seconds=wait)
    await conn.execute(
        """INSERT INTO butler.whatsapp_link_codes
               (user_id, phone_number, code_hash, expires_at)
           VALUES ($1, $2, $3, now() + $4)
           ON CONFLICT (user_id) DO UPDATE
           SET phone_number = EXCLUDED.phone_number, code_hash = EXCLUDED.code_hash,
               attempts = 0, expires_at = EXCLUDED.expires_at, created_at = now()""",
        user_id,
        phone_number,
        _hash(user_id, code),
        CODE_TTL,
    )


async def forget_code(conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM butler.whatsapp_link_codes WHERE user_id = $1", user_id)


async def verify(conn: asyncpg.Connection, user_id: uuid.UUID, code: str) -> Link:
    """Link the number the code was sent to, if `code` is right. Each try counts (its
    count is committed before the code is compared, so a failure cannot undo it)."""
    row = await conn.fetchrow(
        """UPDATE butler.whatsapp_link_codes SET attempts = attempts + 1
           WHERE user_id = $1
           RETURNING phone_number, code_hash, attempts, expires_at <= now() AS expired""",
        user_id,
    )
    if row is None:
        raise InvalidInput("No code is waiting: ask for one first.", code="no_code")
    if row["expired"] or row["attempts"] > MAX_ATTEMPTS:
        await forget_code(conn, user_id)
        what = "has expired" if row["expired"] else "had too many wrong tries"
        raise InvalidInput(f"That code {what}: ask for a new one.", code="code_expired")
    if not secrets.compare_digest(row["code_hash"], _hash(user_id, code)):
        left = MAX_ATTEMPTS - row["attempts"]
        if left == 0:
            await forget_code(conn, user_id)
            raise InvalidInput(
                "Wrong code, and no tries left: ask for a new one.", code="code_expired"
            )
        raise InvalidInput(
            f"That code is not right; {left} {'try' if left == 1 else 'tries'} left.",
            code="wrong_code",
        )
    async with conn.transaction():
        owner = await conn.fetchval(
            "SELECT user_id FROM butler.whatsapp_links WHERE phone_number = $1 FOR UPDATE",
            row["phone_number"],
        )
        if owner is not None and owner != user_id:
            raise Conflict("That number is linked to another person in this household.")
        try:
            await conn.execute(
                """INSERT INTO butler.whatsapp_links (user_id, phone_number) VALUES ($1, $2)
                   ON CONFLICT (user_id) DO UPDATE
                   SET phone_number = EXCLUDED.phone_number, linked_at = now()""",
                user_id,
                row["phone_number"],
            )
        except asyncpg.UniqueViolationError as exc:  # someone else linked it just now
            raise Conflict("That number is linked to another person in this household.") from exc
        await forget_code(conn, user_id)
    link = await link_of(conn, user_id)
    assert link is not None
    return link


async def unlink(conn: asyncpg.Connection, user_id: uuid.UUID) -> bool:
    await forget_code(conn, user_id)
    done = await conn.execute("DELETE FROM butler.whatsapp_links WHERE user_id = $1", user_id)
    return done != "DELETE 0"


async def set_voice_replies(conn: asyncpg.Connection, user_id: uuid.UUID, on: bool) -> Link | None:
    await conn.execute(
        "UPDATE butler.whatsapp_links SET voice_replies = $2 WHERE user_id = $1", user_id, on
    )
    return await link_of(conn, user_id)
