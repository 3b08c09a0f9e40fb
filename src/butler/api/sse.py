"""Server-sent events for a turn: one event per AgentEvent, keep-alives while quiet."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from butler.agent.events import (
    AgentEvent,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)

KEEPALIVE = b": keep-alive\n\n"


def encode(event: AgentEvent) -> bytes:
    name: str
    data: dict[str, Any]
    if isinstance(event, TextDelta):
        name, data = "text_delta", {"text": event.text}
    elif isinstance(event, ToolStarted):
        name, data = "tool_started", {"id": event.id, "name": event.name, "label": event.label}
    elif isinstance(event, ToolFinished):
        name, data = "tool_finished", {"id": event.id, "name": event.name, "ok": event.ok}
    elif isinstance(event, TurnFinished):
        name = "done"
        data = {"message_id": event.message_id, "should_end_turn": event.should_end_turn}
    else:
        assert isinstance(event, TurnFailed)
        name, data = "error", {"code": event.code, "message": event.message}
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _frames(events: AsyncGenerator[AgentEvent], keepalive: float) -> AsyncIterator[bytes]:
    # The next event is awaited in its own task so a quiet period can be filled with
    # keep-alives without cancelling (and so breaking) the turn in progress.
    pending: asyncio.Task[AgentEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if not done:
                yield KEEPALIVE
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield encode(event)
    finally:
        # The client left (or the turn ended): stop the turn, which closes the LLM request.
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await events.aclose()


def event_stream(events: AsyncGenerator[AgentEvent], *, keepalive: float) -> StreamingResponse:
    return StreamingResponse(
        _frames(events, keepalive),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
