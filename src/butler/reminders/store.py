"""Reminders and timers: one person's own, validated and stored.

A reminder fires at `due_at` (and again on its recurrence); a timer is a named
countdown that fires once. Both live in one table so that firing and delivery treat
them alike; the API and the tools only ever reach the calling person's rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import asyncpg

from butler.errors import Conflict, InvalidInput
from butler.reminders.recurrence import parse_rule

Kind = Literal["reminder", "timer"]
MAX_TEXT = 300
MAX_AHEAD = timedelta(days=5 * 366)
# A due time this far behind the server's clock still counts as "now" (a request's own
# transit, a clock a second off); further back it is in the past.
PAST_TOLERANCE = timedelta(seconds=30)
MAX_TIMER = timedelta(hours=24)
MAX_PENDING = 200  # per person: a runaway loop of "remind me" cannot fill the table
# A held timer not started within this long never starts (its reply was never heard).
HELD_SECONDS = 30


@dataclass(frozen=True)
class Reminder:
    id: uuid.UUID
    kind: Kind
    text: str
    due_at: datetime
    recurrence: str | None
    timezone: str
    duration_seconds: int | None
    created_at: datetime

    @classmethod
    def from_record(cls, record: Any) -> Reminder:
        return cls(
            id=record["id"],
            kind=record["kind"],
            text=record["text"],
            due_at=record["due_at"],
            recurrence=record["recurrence"],
            timezone=record["timezone"],
            duration_seconds=record["duration_seconds"],
            created_at=record["created_at"],
        )

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (self.due_at - now).total_seconds())


def clean_text(text: str, what: str) -> str:
    """`text` stripped, or InvalidInput: empty, too long, or holding control characters."""
    cleaned = " ".join(text.split())
    if any(not ch.isprintable() for ch in cleaned):
        raise InvalidInput(f"{what} must not contain control characters")
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(f"{what} must be at most {MAX_TEXT} characters")
    return cleaned


def check_due(due_at: datetime, now: datetime) -> None:
    if due_at.tzinfo is None or due_at.utcoffset() is None:
        raise InvalidInput('due_at needs an offset, such as "2026-12-02T18:00:00+00:00"')
    if due_at < now - PAST_TOLERANCE:
        raise InvalidInput(f"due_at is in the past (it is now {now.isoformat(timespec='seconds')})")
    if due_at > now + MAX_AHEAD:
        raise InvalidInput("due_at is more than five years ahead")


class ReminderStore:
    async def add_reminder(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        *,
        text: str,
        due_at: datetime,
        recurrence: str | None,
        timezone: str,
    ) -> Reminder:
        what = clean_text(text, "text")
        if not what:
            raise InvalidInput("text is empty: say what to remind of")
        now = await database_now(conn)
        check_due(due_at, now)
        rule = None
        if recurrence is not None and recurrence.strip():
            parse_rule(recurrence, due_at, ZoneInfo(timezone))
            rule = recurrence.strip()
        return await self._insert(conn, user_id, "reminder", what, due_at, rule, timezone, None)

    async def add_timer(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        *,
        name: str,
        duration: timedelta,
        timezone: str,
        held: bool = False,
    ) -> Reminder:
        """A timer from now; `held`: it starts only once `release_held` is called (a
        voice reply that says it started has been heard)."""
        label = clean_text(name, "the timer's name")
        if not timedelta(seconds=1) <= duration <= MAX_TIMER:
            raise InvalidInput("a timer runs from one second to 24 hours")
        due_at = await database_now(conn) + duration
        seconds = int(duration.total_seconds())
        return await self._insert(
            conn, user_id, "timer", label, due_at, None, timezone, seconds, held=held
        )

    async def release_held(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, id: uuid.UUID
    ) -> Reminder | None:
        """Start a held timer, from now; None when there is no such one (another
        person's, already started, or held too long ago to count)."""
        record = await conn.fetchrow(
            """UPDATE butler.reminders
               SET status = 'pending', due_at = now() + make_interval(secs => duration_seconds)
               WHERE id = $1 AND user_id = $2 AND status = 'held'
                 AND created_at > now() - make_interval(secs => $3)
               RETURNING *""",
            id,
            user_id,
            HELD_SECONDS,
        )
        return Reminder.from_record(record) if record is not None else None

    async def _insert(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        kind: Kind,
        text: str,
        due_at: datetime,
        recurrence: str | None,
        timezone: str,
        duration_seconds: int | None,
        *,
        held: bool = False,
    ) -> Reminder:
        async with conn.transaction():
            # One person's inserts queue here, so the count below cannot be raced past.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1::text))", str(user_id))
            pending = await conn.fetchval(
                "SELECT count(*) FROM butler.reminders WHERE user_id = $1 AND status = 'pending'",
                user_id,
            )
            if pending >= MAX_PENDING:
                raise Conflict(
                    f"You have {MAX_PENDING} reminders and timers waiting; cancel some first."
                )
            record = await conn.fetchrow(
                """INSERT INTO butler.reminders
                     (id, user_id, kind, text, due_at, starts_at, recurrence, timezone,
                      duration_seconds, status)
                   VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9) RETURNING *""",
                uuid.uuid4(),
                user_id,
                kind,
                text,
                due_at,
                recurrence,
                timezone,
                duration_seconds,
                "held" if held else "pending",
            )
        return Reminder.from_record(record)

    async def upcoming(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, kind: Kind | None = None
    ) -> list[Reminder]:
        records = await conn.fetch(
            """SELECT * FROM butler.reminders
               WHERE user_id = $1 AND status = 'pending' AND ($2::text IS NULL OR kind = $2)
               ORDER BY due_at, created_at""",
            user_id,
            kind,
        )
        return [Reminder.from_record(r) for r in records]

    async def cancel(self, conn: asyncpg.Connection, user_id: uuid.UUID, id: uuid.UUID) -> bool:
        """Cancel one of the person's waiting reminders or timers; False when there is no
        such one (someone else's, already fired, or already cancelled)."""
        done = await conn.fetchval(
            """UPDATE butler.reminders SET status = 'cancelled'
               WHERE id = $1 AND user_id = $2 AND status = 'pending' RETURNING id""",
            id,
            user_id,
        )
        return done is not None


async def database_now(conn: asyncpg.Connection) -> datetime:
    """The database's clock: every process (and every server on one database) judges
    "due" and "in the past" by the same one."""
    now: datetime = await conn.fetchval("SELECT now()")
    return now
