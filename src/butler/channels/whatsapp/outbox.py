"""What Butler sent on WhatsApp (for the context of replies to it, and its delivery
status), and the problems admins are shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from butler.channels.whatsapp.webhook import STATUS_ORDER, StatusUpdate
from butler.metrics import WHATSAPP_MESSAGES


@dataclass(frozen=True)
class Problem:
    at: datetime
    phone_number: str | None
    what: str
    detail: str


async def record_sent(
    conn: asyncpg.Connection, message_id: str, phone_number: str, kind: str, text: str | None
) -> None:
    await conn.execute(
        """INSERT INTO butler.whatsapp_sent (message_id, phone_number, kind, text)
           VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING""",
        message_id,
        phone_number,
        kind,
        text,
    )
    WHATSAPP_MESSAGES.labels("accepted").inc()


async def sent_lately(conn: asyncpg.Connection, phone_number: str, kind: str) -> int:
    """How many messages of `kind` went to the number in the last day."""
    count = await conn.fetchval(
        """SELECT count(*) FROM butler.whatsapp_sent
           WHERE phone_number = $1 AND kind = $2 AND sent_at > now() - interval '1 day'""",
        phone_number,
        kind,
    )
    return int(count or 0)


async def apply_status(conn: asyncpg.Connection, update: StatusUpdate) -> None:
    """Move a sent message's status forward only (Meta's statuses arrive out of order);
    a failure is a problem for admins to see."""
    row = await conn.fetchrow(
        """UPDATE butler.whatsapp_sent s
           SET status = $2, detail = coalesce($3, s.detail), updated_at = now()
           WHERE s.message_id = $1 AND $4 > (
               SELECT o.rank FROM (VALUES ('accepted', 0), ('sent', 1), ('delivered', 2),
                                          ('read', 3), ('failed', 4)) AS o (name, rank)
               WHERE o.name = s.status)
           RETURNING s.phone_number, s.kind""",
        update.message_id,
        update.status,
        update.detail,
        STATUS_ORDER[update.status],
    )
    if row is not None:
        WHATSAPP_MESSAGES.labels(update.status).inc()
    if row is not None and update.status == "failed":
        await add_problem(
            conn,
            row["phone_number"],
            f"a {row['kind']} was not delivered",
            update.detail or "WhatsApp gave no reason",
        )


async def add_problem(
    conn: asyncpg.Connection, phone_number: str | None, what: str, detail: str
) -> None:
    await conn.execute(
        """INSERT INTO butler.whatsapp_problems (phone_number, what, detail)
           VALUES ($1, $2, $3)""",
        phone_number,
        what[:200],
        detail[:500],
    )


async def recent_problems(conn: asyncpg.Connection, limit: int = 50) -> list[Problem]:
    rows = await conn.fetch(
        """SELECT at, phone_number, what, detail FROM butler.whatsapp_problems
           ORDER BY id DESC LIMIT $1""",
        limit,
    )
    return [Problem(r["at"], r["phone_number"], r["what"], r["detail"]) for r in rows]
