"""Timer commands answered before the LLM: start one, ask how long is left, cancel one.

In a voice turn the words come from the speaker's first pause and they may go on, so a
timer started there is held until its reply is heard (the worker then starts it, as it
carries out a home action); cancelling by voice is left to the LLM, after the turn.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import asyncpg

from butler.agent.quick_answer import QuickAnswer
from butler.agent.reminder_tools import choose_timer, spoken_span, timer_label
from butler.db.pool import connection
from butler.errors import ButlerError
from butler.reminders.store import ReminderStore, database_now
from butler.reminders.timer_phrases import TimerCommand, might_be_timer, understand
from butler.tools.base import Channel
from butler.users.models import User

TIMER_FAST_PATH = "timer_fast_path"


class TimerTurns:
    def __init__(self, pool: asyncpg.Pool, store: ReminderStore) -> None:
        self._pool = pool
        self._store = store

    async def answer(
        self, user: User, text: str, channel: Channel = "text", *, act_when_heard: bool = False
    ) -> QuickAnswer | None:
        started = time.perf_counter()
        if not might_be_timer(text):
            return None  # (most turns: no thread hop on the way to the first token)
        command = await asyncio.to_thread(understand, text)
        if command is None or (command.action == "cancel" and act_when_heard):
            return None
        arguments = {"action": command.action, "name": command.name, "seconds": command.seconds}
        try:
            async with connection(self._pool) as conn:
                said, held = await self._carry_out(conn, user, command, act_when_heard)
            ok = True
        except ButlerError as exc:
            said, held, ok = exc.message, None, False
        took = int((time.perf_counter() - started) * 1000)
        return QuickAnswer(said, TIMER_FAST_PATH, arguments, ok, took, held, "Setting a timer")

    async def _carry_out(
        self, conn: asyncpg.Connection, user: User, command: TimerCommand, hold: bool
    ) -> tuple[str, uuid.UUID | None]:
        name = timer_label(command.name)
        if command.action == "start":
            timer = await self._store.add_timer(
                conn,
                user.id,
                name=command.name,
                duration=timedelta(seconds=command.seconds or 0),
                timezone=user.timezone,
                held=hold,
            )
            span = spoken_span(timer.duration_seconds or 0)
            return f"{name.capitalize()} set for {span}.", (timer.id if hold else None)
        running = await self._store.upcoming(conn, user.id, kind="timer")
        if command.action == "cancel":
            chosen = choose_timer(running, command.name)
            await self._store.cancel(conn, user.id, chosen.id)
            return f"{timer_label(chosen.text).capitalize()} cancelled.", None
        if command.name:
            running = [choose_timer(running, command.name)]
        if not running:
            return "No timers are running.", None
        now = await database_now(conn)
        lines = [
            f"{timer_label(t.text).capitalize()}: {spoken_span(t.seconds_left(now))} left."
            for t in running
        ]
        return " ".join(lines), None
