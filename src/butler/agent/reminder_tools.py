"""The LLM's reminder and timer tools. The person is always the turn's (ToolContext);
an id from the model only ever reaches that person's own reminders."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from butler.db.pool import connection
from butler.errors import ButlerError
from butler.reminders.store import Reminder, ReminderStore
from butler.tools.base import Tool, ToolContext, ToolError, tool


def reminder_tools(pool: asyncpg.Pool, store: ReminderStore) -> list[Tool]:
    @tool(label="Setting a reminder")
    async def set_reminder(
        ctx: ToolContext, text: str, due_at: str, recurrence: str | None = None
    ) -> str:
        """Remind the user of something at a time. `due_at` is an absolute ISO 8601 time
        with the offset of the user's timezone (work it out from the current time you
        were given: "at six" is 18:00 today, or tomorrow if that has passed), e.g.
        "2026-12-02T18:00:00+00:00". `recurrence` is an optional RFC 5545 RRULE for a
        repeating reminder, e.g. "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" (every weekday at
        due_at's time). `text` is what to remind of, e.g. "Call mum"."""
        when = _parse_time(due_at)
        async with connection(pool) as conn:
            try:
                made = await store.add_reminder(
                    conn,
                    ctx.user.id,
                    text=text,
                    due_at=when,
                    recurrence=recurrence,
                    timezone=ctx.user.timezone,
                )
            except ButlerError as exc:
                raise ToolError(exc.message) from exc
        repeat = f", repeating ({made.recurrence})" if made.recurrence else ""
        return f"Reminder set for {_local(made.due_at, ctx)}{repeat}: {made.text} (id {made.id})"

    @tool(label="Checking reminders")
    async def list_reminders(ctx: ToolContext) -> str:
        """The user's waiting reminders and timers, soonest first, with their ids."""
        async with connection(pool) as conn:
            found = await store.upcoming(conn, ctx.user.id)
        if not found:
            return "No reminders or timers are waiting."
        return "\n".join(_line(r, ctx) for r in found)

    @tool(label="Cancelling a reminder")
    async def cancel_reminder(ctx: ToolContext, reminder_id: str) -> str:
        """Cancel a waiting reminder or timer by the id list_reminders gave."""
        try:
            wanted = uuid.UUID(reminder_id)
        except ValueError as exc:
            raise ToolError("That is not a reminder id; use list_reminders to find it.") from exc
        async with connection(pool) as conn:
            if not await store.cancel(conn, ctx.user.id, wanted):
                raise ToolError("No such reminder is waiting; use list_reminders to find it.")
        return "Cancelled."

    @tool(label="Setting a timer")
    async def set_timer(ctx: ToolContext, duration_seconds: int, name: str = "") -> str:
        """Start a countdown timer, e.g. "a pasta timer for 12 minutes" is
        duration_seconds=720, name="pasta". Up to 24 hours."""
        async with connection(pool) as conn:
            try:
                made = await store.add_timer(
                    conn,
                    ctx.user.id,
                    name=name,
                    duration=timedelta(seconds=duration_seconds),
                    timezone=ctx.user.timezone,
                )
            except ButlerError as exc:
                raise ToolError(exc.message) from exc
        return f"{_timer_name(made).capitalize()} started: {spoken_span(duration_seconds)}."

    @tool(label="Checking timers")
    async def timer_status(ctx: ToolContext) -> str:
        """How long is left on each of the user's running timers."""
        async with connection(pool) as conn:
            running = await store.upcoming(conn, ctx.user.id, kind="timer")
        if not running:
            return "No timers are running."
        now = ctx.now()
        return "\n".join(
            f"{_timer_name(t)}: {spoken_span(t.seconds_left(now))} left (id {t.id})"
            for t in running
        )

    @tool(label="Cancelling a timer")
    async def cancel_timer(ctx: ToolContext, name: str = "") -> str:
        """Cancel a running timer by its name ("the pasta timer" is name="pasta"); with
        no name, the only running timer."""
        async with connection(pool) as conn:
            running = await store.upcoming(conn, ctx.user.id, kind="timer")
            chosen = choose_timer(running, name)
            await store.cancel(conn, ctx.user.id, chosen.id)
        return f"{_timer_name(chosen).capitalize()} cancelled."

    return [set_reminder, list_reminders, cancel_reminder, set_timer, timer_status, cancel_timer]


def choose_timer(running: list[Reminder], name: str) -> Reminder:
    """The one timer `name` means, or ToolError saying why there is not one."""
    if not running:
        raise ToolError("No timers are running.")
    wanted = name.strip().lower().removesuffix(" timer").strip()
    if wanted:
        named = [t for t in running if t.text.lower() == wanted]
        if len(named) >= 1:
            return named[0]
        raise ToolError(
            f"No {wanted} timer is running; running: " + ", ".join(_timer_name(t) for t in running)
        )
    if len(running) > 1:
        raise ToolError(
            "Several timers are running; ask which: " + ", ".join(_timer_name(t) for t in running)
        )
    return running[0]


def _parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ToolError(
            'due_at must be an ISO 8601 time with an offset, e.g. "2026-12-02T18:00:00+00:00"'
        ) from exc
    if when.tzinfo is None:
        raise ToolError("due_at needs the offset of the user's timezone, e.g. +01:00")
    return when


def _local(moment: datetime, ctx: ToolContext) -> str:
    return f"{moment.astimezone(ZoneInfo(ctx.user.timezone)):%A %d %B at %H:%M}"


def _line(reminder: Reminder, ctx: ToolContext) -> str:
    if reminder.kind == "timer":
        left = spoken_span(reminder.seconds_left(ctx.now()))
        return f"- {_timer_name(reminder)}: {left} left (id {reminder.id})"
    repeat = f", repeating ({reminder.recurrence})" if reminder.recurrence else ""
    return f"- {_local(reminder.due_at, ctx)}{repeat}: {reminder.text} (id {reminder.id})"


def timer_label(name: str) -> str:
    """ "pasta timer", or "timer" for an unnamed one."""
    return f"{name} timer" if name else "timer"


def _timer_name(timer: Reminder) -> str:
    return f"the {timer_label(timer.text)}"


def spoken_span(seconds: float) -> str:
    """12 minutes; 1 hour 5 minutes; 40 seconds."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if secs and not hours:
        parts.append(f"{secs} second{'s' if secs != 1 else ''}")
    return " ".join(parts) or "0 seconds"
