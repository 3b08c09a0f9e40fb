"""Server-sent events for a turn: one event per AgentEvent, keep-alives while quiet."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse
from typing_extensions import TypedDict

from butler.agent.events import (
    AgentEvent,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)

KEEPALIVE = b": keep-alive\n\n"


# The data of each event, by event name. These are plain dicts at run time (no cost on
# the hot path); the OpenAPI document publishes them as `ChatStreamEvents` so that
# clients generate their types from it.
class TextDeltaData(TypedDict):
    text: str


class ToolStartedData(TypedDict):
    id: str
    name: str
    label: str


class ToolFinishedData(TypedDict):
    id: str
    name: str
    ok: bool


class DoneData(TypedDict):
    message_id: int | None
    should_end_turn: bool
    # Voice streams only: a home action to carry out (POST /api/voice/home-actions/{id})
    # once the reply is heard; null otherwise.
    home_action_id: str | None


class ErrorData(TypedDict):
    code: str
    message: str


class ChatStreamEvents(TypedDict):
    """Each server-sent event of a chat or voice stream: `event: <key>`, `data: <value>`."""

    text_delta: TextDeltaData
    tool_started: ToolStartedData
    tool_finished: ToolFinishedData
    done: DoneData
    error: ErrorData


def encode(event: AgentEvent) -> bytes:
    name: str
    data: Any
    if isinstance(event, TextDelta):
        name, data = "text_delta", TextDeltaData(text=event.text)
    elif isinstance(event, ToolStarted):
        name, data = (
            "tool_started",
            ToolStartedData(id=event.id, name=event.name, label=event.label),
        )
    elif isinstance(event, ToolFinished):
        name, data = "tool_finished", ToolFinishedData(id=event.id, name=event.name, ok=event.ok)
    elif isinstance(event, TurnFinished):
        name = "done"
        data = DoneData(
            message_id=event.message_id,
            should_end_turn=event.should_end_turn,
            home_action_id=str(event.home_action_id) if event.home_action_id else None,
        )
    else:
        assert isinstance(event, TurnFailed)
        name, data = "error", ErrorData(code=event.code, message=event.message)
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _frames(events: AsyncGenerator[AgentEvent], keepalive: float) -> AsyncIterator[bytes]:
    # The turn runs in its own task and hands frames over a queue; a ticker adds a
    # keep-alive when nothing was sent for `keepalive` seconds. The consumer only ever
    # awaits the queue, so events cost a put and a get, and a quiet period never
    # cancels (and so breaks) the turn in progress.
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    last_sent = time.monotonic()

    async def pump() -> None:
        try:
            async for event in events:
                queue.put_nowait(encode(event))
                # Let the consumer send it now: events already buffered would otherwise
                # all be parsed before the first one leaves.
                await asyncio.sleep(0)
        finally:
            queue.put_nowait(None)

    async def tick() -> None:
        while True:
            await asyncio.sleep(max(0.0, last_sent + keepalive - time.monotonic()))
            if time.monotonic() - last_sent >= keepalive:
                queue.put_nowait(KEEPALIVE)
                await asyncio.sleep(keepalive)

    producer = asyncio.create_task(pump())
    ticker = asyncio.create_task(tick())
    try:
        while (frame := await queue.get()) is not None:
            last_sent = time.monotonic()
            yield frame
        await producer  # re-raise what ended the turn, if anything did
    finally:
        # The client left, or the turn ended: stop the turn, which closes the LLM request.
        for task in (ticker, producer):
            task.cancel()
        await asyncio.gather(ticker, producer, return_exceptions=True)
        await events.aclose()


def event_stream(events: AsyncGenerator[AgentEvent], *, keepalive: float) -> StreamingResponse:
    return StreamingResponse(
        _frames(events, keepalive),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
