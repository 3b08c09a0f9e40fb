"""What the chat and voice routes share about starting a turn, and about ending it
when the client leaves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from fastapi import Request

from butler.agent.brain import Brain, collect
from butler.agent.events import AgentEvent, TurnFinished
from butler.api.deps import Services
from butler.llm.base import LLMNotConfigured


def ensure_ready(services: Services) -> Brain:
    """The brain, or a 503 that tells the operator what to configure."""
    if not services.brain.ready:
        raise LLMNotConfigured(services.llm_status)
    return services.brain


# How often a JSON turn looks whether its client is still there.
DISCONNECT_POLL_SECONDS = 0.2


class ClientLeft(Exception):
    """The client of a JSON turn went away; the turn was cancelled and stored nothing."""


async def collect_while_connected(
    request: Request, events: AsyncGenerator[AgentEvent]
) -> TurnFinished:
    """The turn's end, as `collect` gives it, unless the client disconnects first: then
    the turn is cancelled (the model's request with it, nothing stored, as for a stream
    whose reader left) and ClientLeft is raised."""
    turn = asyncio.ensure_future(collect(events))
    try:
        while True:
            done, _ = await asyncio.wait({turn}, timeout=DISCONNECT_POLL_SECONDS)
            if done:
                return turn.result()
            if await request.is_disconnected():
                raise ClientLeft
    finally:
        if not turn.done():
            turn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await turn
