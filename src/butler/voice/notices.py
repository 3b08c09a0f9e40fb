"""Reminders and timers said aloud in the person's open voice session.

The worker asks the API for notices with a long poll (the API holds the request until
one fires, or a while); each is handed to one session only, and said after whatever the
butler is saying now. The push notification carries it as well, so a session that
cannot say it loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import httpx
from livekit.agents import AgentSession

log = logging.getLogger(__name__)

WAIT_SECONDS = 20.0
MAX_BACKOFF = 30.0


class NoticeSource(Protocol):
    async def notices(self, wait: float) -> list[str] | None: ...


async def speak_notices(session: AgentSession[Any], api: NoticeSource) -> None:
    """Run for the session's life: say each notice as it comes. Ends when the API no
    longer accepts the session's credential (the session is over)."""
    failures = 0
    while True:
        try:
            sentences = await api.notices(WAIT_SECONDS)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            failures += 1
            delay = min(MAX_BACKOFF, 2.0**failures)
            log.warning("could not ask for reminders (%s); again in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            continue
        if sentences is None:
            return
        failures = 0
        for sentence in sentences:
            try:
                session.say(sentence)
            except RuntimeError:  # the session is closing
                return


def start_speaking_notices(session: AgentSession[Any], api: NoticeSource) -> asyncio.Task[None]:
    task = asyncio.create_task(speak_notices(session, api), name="voice-notices")
    session.on("close", lambda _event: task.cancel())
    return task
