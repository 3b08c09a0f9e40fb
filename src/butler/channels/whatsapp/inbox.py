"""Received messages, stored before the webhook is answered and handled from here.

The message id is the key, so Meta's redeliveries add nothing. A process claims a
message with a lease (`not_before`); if it dies, the lease runs out and another takes
it over. One person's messages are answered in the order they came: a message is not
claimed while an earlier one from the same number is still open. A message whose turn
has run is `answered` with its reply kept, so a crash before sending repeats only the
send, never the turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from butler.channels.whatsapp.webhook import Inbound

MAX_ATTEMPTS = 5
KEEP_DAYS = 30  # handled messages (and what Butler sent) are kept this long for context
UNLINKED = "unlinked"  # the kind stored for a number nobody linked: no content kept


@dataclass(frozen=True)
class Received:
    message_id: str
    phone_number: str
    kind: str
    message: dict[str, Any]
    status: str
    attempts: int
    reply: dict[str, Any] | None
    received_at: datetime

    @classmethod
    def from_record(cls, row: asyncpg.Record) -> Received:
        return cls(
            message_id=row["message_id"],
            phone_number=row["phone_number"],
            kind=row["kind"],
            message=_json(row["message"]) or {},
            status=row["status"],
            attempts=row["attempts"],
            reply=_json(row["reply"]),
            received_at=row["received_at"],
        )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def store(conn: asyncpg.Connection, inbound: Inbound, *, linked: bool) -> bool:
    """Keep the message (only its id and sender when the number is nobody's); False when
    it was stored before (a redelivery)."""
    async with conn.transaction():
        inserted = await conn.fetchval(
            """INSERT INTO butler.whatsapp_inbox (message_id, phone_number, kind, message)
               VALUES ($1, $2, $3, $4::jsonb)
               ON CONFLICT (message_id) DO NOTHING
               RETURNING true""",
            inbound.message_id,
            inbound.phone_number,
            inbound.kind if linked else UNLINKED,
            json.dumps(inbound.message if linked else {}),
        )
        if inserted:
            await conn.execute(
                """INSERT INTO butler.whatsapp_contacts (phone_number, last_inbound_at)
                   VALUES ($1, now())
                   ON CONFLICT (phone_number) DO UPDATE SET last_inbound_at = now()""",
                inbound.phone_number,
            )
    return bool(inserted)


async def claim(
    conn: asyncpg.Connection, *, lease_seconds: float, limit: int = 10
) -> list[Received]:
    rows = await conn.fetch(
        """WITH chosen AS (
               SELECT i.message_id FROM butler.whatsapp_inbox i
               WHERE i.status IN ('pending', 'working', 'answered')
                 AND i.not_before <= now() AND i.attempts < $3
                 AND NOT EXISTS (
                     SELECT 1 FROM butler.whatsapp_inbox e
                     WHERE e.phone_number = i.phone_number
                       AND e.status IN ('pending', 'working', 'answered')
                       AND (e.received_at, e.message_id) < (i.received_at, i.message_id))
               ORDER BY i.received_at
               LIMIT $2
               FOR UPDATE OF i SKIP LOCKED)
           UPDATE butler.whatsapp_inbox i
           SET status = CASE WHEN i.status = 'answered' THEN 'answered' ELSE 'working' END,
               attempts = i.attempts + 1,
               not_before = now() + make_interval(secs => $1)
           FROM chosen WHERE i.message_id = chosen.message_id
           RETURNING i.*""",
        lease_seconds,
        limit,
        MAX_ATTEMPTS,
    )
    return [Received.from_record(r) for r in rows]


async def extend_lease(conn: asyncpg.Connection, message_id: str, lease_seconds: float) -> None:
    await conn.execute(
        """UPDATE butler.whatsapp_inbox SET not_before = now() + make_interval(secs => $2)
           WHERE message_id = $1 AND status IN ('working', 'answered')""",
        message_id,
        lease_seconds,
    )


async def answered(conn: asyncpg.Connection, message_id: str, reply: dict[str, Any]) -> None:
    await conn.execute(
        """UPDATE butler.whatsapp_inbox SET status = 'answered', reply = $2::jsonb
           WHERE message_id = $1""",
        message_id,
        json.dumps(reply),
    )


async def done(conn: asyncpg.Connection, message_id: str, detail: str | None = None) -> None:
    await conn.execute(
        """UPDATE butler.whatsapp_inbox SET status = 'done', detail = $2, done_at = now()
           WHERE message_id = $1""",
        message_id,
        detail,
    )


async def retry_later(
    conn: asyncpg.Connection, received: Received, detail: str, *, delay: float
) -> bool:
    """Back to the queue after `delay` s; False (and failed) when out of attempts."""
    if received.attempts >= MAX_ATTEMPTS:
        await failed(conn, received.message_id, detail)
        return False
    await conn.execute(
        """UPDATE butler.whatsapp_inbox
           SET status = CASE WHEN status = 'answered' THEN 'answered' ELSE 'pending' END,
               detail = $2, not_before = now() + make_interval(secs => $3)
           WHERE message_id = $1""",
        received.message_id,
        detail,
        delay,
    )
    return True


async def failed(conn: asyncpg.Connection, message_id: str, detail: str) -> None:
    await conn.execute(
        """UPDATE butler.whatsapp_inbox SET status = 'failed', detail = $2, done_at = now()
           WHERE message_id = $1""",
        message_id,
        detail[:500],
    )


async def expire_out_of_attempts(conn: asyncpg.Connection) -> list[str]:
    """Messages whose every attempt died with its process: failed, their ids."""
    rows = await conn.fetch(
        """UPDATE butler.whatsapp_inbox SET status = 'failed', done_at = now(),
               detail = coalesce(detail, 'every attempt to answer it was cut short')
           WHERE status IN ('pending', 'working', 'answered')
             AND attempts >= $1 AND not_before <= now()
           RETURNING message_id, phone_number""",
        MAX_ATTEMPTS,
    )
    return [r["phone_number"] for r in rows]


async def waiting(conn: asyncpg.Connection) -> int:
    """Received messages not answered yet."""
    count = await conn.fetchval(
        """SELECT count(*) FROM butler.whatsapp_inbox
           WHERE status IN ('pending', 'working', 'answered')"""
    )
    return int(count or 0)


async def quoted_text(conn: asyncpg.Connection, phone_number: str, message_id: str) -> str | None:
    """The text of a message the person replied to: one of Butler's to them, or one of
    their own (a text, or a photo's caption)."""
    text = await conn.fetchval(
        """SELECT text FROM butler.whatsapp_sent WHERE message_id = $1 AND phone_number = $2""",
        message_id,
        phone_number,
    )
    if text:
        return str(text)
    own = await conn.fetchval(
        """SELECT coalesce(message->'text'->>'body', message->'image'->>'caption')
           FROM butler.whatsapp_inbox WHERE message_id = $1 AND phone_number = $2""",
        message_id,
        phone_number,
    )
    return None if own is None else str(own)


async def within_window(conn: asyncpg.Connection, phone_number: str) -> bool:
    """Whether the person wrote in the last 24 hours: only then may Butler send them
    free-form messages of its own accord (else an approved template)."""
    return bool(
        await conn.fetchval(
            """SELECT last_inbound_at > now() - interval '23 hours 50 minutes'
               FROM butler.whatsapp_contacts WHERE phone_number = $1""",
            phone_number,
        )
    )


async def take_access_notice(conn: asyncpg.Connection, phone_number: str) -> bool:
    """True for the first unlinked message from a number in a day (it gets the access
    reply); recorded in the same statement, so two processes cannot both say yes."""
    return bool(
        await conn.fetchval(
            """UPDATE butler.whatsapp_contacts SET access_notice_at = now()
               WHERE phone_number = $1
                 AND (access_notice_at IS NULL OR access_notice_at < now() - interval '1 day')
               RETURNING true""",
            phone_number,
        )
    )


async def give_back_access_notice(conn: asyncpg.Connection, phone_number: str) -> None:
    await conn.execute(
        "UPDATE butler.whatsapp_contacts SET access_notice_at = NULL WHERE phone_number = $1",
        phone_number,
    )


async def sweep(conn: asyncpg.Connection) -> None:
    """Forget handled messages and sent texts after KEEP_DAYS, problems after 90 days."""
    await conn.execute(
        """DELETE FROM butler.whatsapp_inbox
           WHERE status IN ('done', 'failed')
             AND received_at < now() - make_interval(days => $1)""",
        KEEP_DAYS,
    )
    await conn.execute(
        "DELETE FROM butler.whatsapp_sent WHERE sent_at < now() - make_interval(days => $1)",
        KEEP_DAYS,
    )
    await conn.execute("DELETE FROM butler.whatsapp_problems WHERE at < now() - interval '90 days'")
