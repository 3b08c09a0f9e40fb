"""Deliveries: one row per firing and channel, claimed with a lease.

A process claims a delivery by marking it `sending` with `not_before` a lease ahead;
if it dies before finishing, the lease runs out and another process takes it again.
A failed attempt goes back to `pending` with `not_before` as its retry time, until
MAX_ATTEMPTS. So a notification is late rather than lost; the rare one sent twice (a
crash after sending, before recording it) carries the same tag, and the browser shows
it once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import asyncpg

from butler.notify.firing import Firing

Channel = Literal["push", "voice", "whatsapp"]
LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 5
# A spoken notice is for whoever is talking to Butler now: one a session has not taken
# within this long is dropped (the push carries it anyway).
VOICE_WINDOW_SECONDS = 600
# A delivery no process has sent within a day (its channel was switched off since) is
# news too old to bring.
STALE_SECONDS = 86_400


@dataclass(frozen=True)
class Delivery:
    firing: Firing
    channel: Channel
    attempts: int


async def claim(
    conn: asyncpg.Connection,
    channel: Channel,
    *,
    user_id: uuid.UUID | None = None,
    limit: int = 20,
    lease_seconds: float = LEASE_SECONDS,
) -> list[Delivery]:
    """Take up to `limit` deliveries of `channel` that are due (of one person's firings
    when `user_id` is given), leased to the caller."""
    rows = await conn.fetch(
        """WITH chosen AS (
               SELECT d.firing_id, d.channel
               FROM butler.deliveries d
               JOIN butler.reminder_firings f ON f.id = d.firing_id
               WHERE d.channel = $1 AND d.status IN ('pending', 'sending')
                 AND d.not_before <= now() AND d.attempts < $5
                 AND ($2::uuid IS NULL OR f.user_id = $2)
               ORDER BY d.not_before
               LIMIT $3
               FOR UPDATE OF d SKIP LOCKED)
           UPDATE butler.deliveries d
           SET status = 'sending', attempts = d.attempts + 1,
               not_before = now() + make_interval(secs => $4)
           FROM chosen, butler.reminder_firings f
           WHERE d.firing_id = chosen.firing_id AND d.channel = chosen.channel
             AND f.id = d.firing_id
           RETURNING f.*, d.attempts""",
        channel,
        user_id,
        limit,
        lease_seconds,
        MAX_ATTEMPTS,
    )
    return [Delivery(Firing.from_record(r), channel, r["attempts"]) for r in rows]


async def sent(conn: asyncpg.Connection, delivery: Delivery, detail: str | None = None) -> None:
    await _close(conn, delivery, "sent", detail)


async def failed(
    conn: asyncpg.Connection, delivery: Delivery, detail: str, *, retry_in: float | None
) -> None:
    """A failed attempt: tried again after `retry_in` seconds while attempts remain,
    else (or with `retry_in` None: it cannot succeed) given up."""
    if retry_in is not None and delivery.attempts < MAX_ATTEMPTS:
        await conn.execute(
            """UPDATE butler.deliveries
               SET status = 'pending', detail = $3, not_before = now() + make_interval(secs => $4)
               WHERE firing_id = $1 AND channel = $2""",
            delivery.firing.id,
            delivery.channel,
            detail,
            retry_in,
        )
    else:
        await _close(conn, delivery, "failed", detail)


async def _close(
    conn: asyncpg.Connection, delivery: Delivery, status: str, detail: str | None
) -> None:
    await conn.execute(
        """UPDATE butler.deliveries SET status = $3, detail = $4, done_at = now()
           WHERE firing_id = $1 AND channel = $2""",
        delivery.firing.id,
        delivery.channel,
        status,
        detail,
    )


async def expire_stale(conn: asyncpg.Connection) -> None:
    """Spoken notices no session took in time, any delivery out of attempts or a day
    old, and timers held for a voice reply that was never heard."""
    await conn.execute(
        """DELETE FROM butler.reminders
           WHERE status = 'held' AND created_at < now() - interval '1 hour'"""
    )
    await conn.execute(
        """UPDATE butler.deliveries d SET status = 'expired', done_at = now()
           FROM butler.reminder_firings f
           WHERE f.id = d.firing_id AND d.status IN ('pending', 'sending')
             AND d.not_before <= now()
             AND ((d.channel = 'voice' AND f.fired_at < now() - make_interval(secs => $1))
                  OR d.attempts >= $2
                  OR f.fired_at < now() - make_interval(secs => $3))""",
        VOICE_WINDOW_SECONDS,
        MAX_ATTEMPTS,
        STALE_SECONDS,
    )
