"""Firing what is due: once, with any number of API processes on one database.

One short transaction claims due reminders (`FOR UPDATE SKIP LOCKED`: another process
skips them rather than waiting), writes a firing row unique per (reminder, due time),
moves a recurring reminder on to its next occurrence (or closes a one-off), and adds a
delivery row for each channel that should carry it. Nothing is sent inside it: the
deliveries are sent afterwards (notify/delivery), so a crash between firing and
sending loses nothing and repeats nothing, and no row lock is held across a network
call. After downtime a due reminder fires late, once, however many of a recurring
one's occurrences were missed, and its next occurrence is the first one to come.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from butler.reminders.recurrence import next_after, parse_rule

BATCH = 50


@dataclass(frozen=True)
class Firing:
    id: uuid.UUID
    reminder_id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    text: str
    due_at: datetime
    fired_at: datetime

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> Firing:
        """From a butler.reminder_firings row."""
        return cls(
            id=record["id"],
            reminder_id=record["reminder_id"],
            user_id=record["user_id"],
            kind=record["kind"],
            text=record["text"],
            due_at=record["due_at"],
            fired_at=record["fired_at"],
        )

    @property
    def late_seconds(self) -> float:
        return max(0.0, (self.fired_at - self.due_at).total_seconds())


async def fire_due(conn: asyncpg.Connection, *, batch: int = BATCH) -> list[Firing]:
    """Fire what is due now (at most `batch`); the firings made, with a delivery recorded
    for each channel that reaches the person (whichever process sends that channel's
    deliveries claims it). Each is fired by exactly one caller."""
    fired: list[Firing] = []
    async with conn.transaction():
        rows = await conn.fetch(
            """SELECT r.*, now() AS now,
                      EXISTS (SELECT 1 FROM butler.voice_sessions s
                              WHERE s.user_id = r.user_id AND s.ended_at IS NULL
                                AND s.expires_at > now()) AS in_voice_session,
                      EXISTS (SELECT 1 FROM butler.whatsapp_links w
                              WHERE w.user_id = r.user_id) AS on_whatsapp
               FROM butler.reminders r
               WHERE r.status = 'pending' AND r.due_at <= now()
               ORDER BY r.due_at
               LIMIT $1
               FOR UPDATE OF r SKIP LOCKED""",
            batch,
        )
        for row in rows:
            firing = await _record_firing(conn, row)
            if firing is not None:
                fired.append(firing)
                reaching = {
                    "push": True,
                    "voice": row["in_voice_session"],
                    "whatsapp": row["on_whatsapp"],
                }
                await conn.executemany(
                    "INSERT INTO butler.deliveries (firing_id, channel) VALUES ($1, $2)",
                    [(firing.id, channel) for channel, on in reaching.items() if on],
                )
            await _move_on(conn, row)
    return fired


async def _record_firing(conn: asyncpg.Connection, row: asyncpg.Record) -> Firing | None:
    record = await conn.fetchrow(
        """INSERT INTO butler.reminder_firings
             (id, reminder_id, user_id, kind, text, due_at, fired_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (reminder_id, due_at) DO NOTHING
           RETURNING *""",
        uuid.uuid4(),
        row["id"],
        row["user_id"],
        row["kind"],
        row["text"],
        row["due_at"],
        row["now"],
    )
    if record is None:
        return None  # that occurrence has fired already
    return Firing.from_record(record)


async def _move_on(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    following = None
    if row["recurrence"]:
        zone = ZoneInfo(row["timezone"])
        # From its first due time, as set: a COUNT or an interval counts from there.
        rule = parse_rule(row["recurrence"], row["starts_at"], zone)
        # The next occurrence still to come: those missed while Butler was down have
        # been made up for by this one late firing.
        following = next_after(rule, max(row["due_at"], row["now"]), zone)
    if following is None:
        await conn.execute(
            """UPDATE butler.reminders SET status = 'done', fired_count = fired_count + 1
               WHERE id = $1""",
            row["id"],
        )
    else:
        await conn.execute(
            """UPDATE butler.reminders SET due_at = $2, fired_count = fired_count + 1
               WHERE id = $1""",
            row["id"],
            following,
        )
