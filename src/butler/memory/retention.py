"""Retention: history older than the setting and expired facts are deleted, on a schedule
inside `butler serve` (once at start, then every few hours)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from butler.db.pool import connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    messages: int
    facts: int


async def sweep(conn: asyncpg.Connection, *, keep_history: timedelta) -> Swept:
    """Delete, for every user, the messages older than `keep_history` and expired facts."""
    messages = await conn.execute(
        "DELETE FROM butler.conversation_history WHERE created_at < now() - $1::interval",
        keep_history,
    )
    facts = await conn.execute(
        "DELETE FROM butler.user_facts WHERE expires_at IS NOT NULL AND expires_at <= now()"
    )
    return Swept(int(messages.split()[-1]), int(facts.split()[-1]))


class RetentionJob:
    def __init__(self, pool: asyncpg.Pool, *, keep_history: timedelta, every: timedelta) -> None:
        self.pool = pool
        self.keep_history = keep_history
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="retention")

    async def run_once(self) -> Swept:
        async with connection(self.pool) as conn:
            swept = await sweep(conn, keep_history=self.keep_history)
        if swept.messages or swept.facts:
            log.info(
                "retention: deleted %d message(s) older than %s and %d expired fact(s)",
                swept.messages,
                self.keep_history,
                swept.facts,
            )
        return swept

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("retention run failed, will retry: %s", exc)
            await asyncio.sleep(self.every.total_seconds())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
