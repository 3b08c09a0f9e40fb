"""Local HTTP servers that speak LLM vendors' streaming wire formats.

The real SDKs talk to them through `base_url`. Each server plays a script of replies,
records every request it received, and notes when a client hangs up mid-stream.
"""

from __future__ import annotations

import asyncio
import json
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support import free_port


@dataclass
class Reply:
    """One scripted answer. `kind`: text | tools | status | stream_error | hang."""

    kind: str
    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    error_type: str = "overloaded_error"
    first_delay: float = 0.0
    chunk_delay: float = 0.0
    stop_reason: str | None = None

    @classmethod
    def say(cls, text: str, **kw: Any) -> Reply:
        return cls("text", text=text, **kw)

    @classmethod
    def use_tools(cls, *calls: tuple[str, dict[str, Any]], text: str = "", **kw: Any) -> Reply:
        return cls("tools", text=text, tool_calls=list(calls), **kw)

    @classmethod
    def fail(cls, status: int, error_type: str = "overloaded_error") -> Reply:
        return cls("status", status=status, error_type=error_type)

    @classmethod
    def break_after(cls, text: str, error_type: str = "overloaded_error", **kw: Any) -> Reply:
        return cls("stream_error", text=text, error_type=error_type, **kw)

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        return cls("hang", first_delay=seconds)


DEFAULT_REPLY = Reply.say("Certainly.")


def _chunks(text: str, size: int = 6) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or []


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("wire server did not start")
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class WireServer(ABC):
    path = "/"

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.disconnects = 0
        self.completed = 0
        self.default = DEFAULT_REPLY
        # Picks a reply from the request (None: the script, then the default); for tests
        # where retries and preemptive requests make the order of requests unknown.
        self.router: Callable[[dict[str, Any]], Reply | None] | None = None
        self.base_url = ""
        self.app = Starlette(routes=[Route(self.path, self._handle, methods=["POST"])])

    def play(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def route(self, pick: Callable[[dict[str, Any]], Reply | None]) -> None:
        self.router = pick

    def answer(self, replies: dict[str, Reply]) -> None:
        """Answer a request whose last message mentions a key with that key's reply."""

        def pick(request: dict[str, Any]) -> Reply | None:
            last = json.dumps(request.get("messages", [])[-1:]).lower()
            return next((reply for key, reply in replies.items() if key in last), None)

        self.route(pick)

    def reset(self) -> None:
        self.default = DEFAULT_REPLY  # a test may have set its own
        self.router = None
        self.script.clear()
        self.requests.clear()
        self.headers.clear()
        self.disconnects = 0
        self.completed = 0

    async def _handle(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        routed = self.router(body) if self.router else None
        reply = routed or (self.script.popleft() if self.script else self.default)
        if reply.kind == "status":
            return JSONResponse(self.error_body(reply.error_type), status_code=reply.status)
        return StreamingResponse(self._guarded(reply), media_type="text/event-stream")

    async def _guarded(self, reply: Reply) -> AsyncIterator[bytes]:
        try:
            if reply.first_delay:
                await asyncio.sleep(reply.first_delay)
            async for frame in self.frames(reply):
                yield frame
                if reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
            self.completed += 1
        except asyncio.CancelledError:
            # Starlette cancels the response when the client disconnects.
            self.disconnects += 1
            raise

    @abstractmethod
    def frames(self, reply: Reply) -> AsyncIterator[bytes]:
        """The reply in the vendor's streaming wire format."""

    @abstractmethod
    def error_body(self, error_type: str) -> dict[str, Any]:
        """The vendor's JSON error object."""

    @contextmanager
    def running(self) -> Iterator[WireServer]:
        with serving(self.app) as base_url:
            self.base_url = base_url
            yield self


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class AnthropicWire(WireServer):
    """POST /v1/messages with stream=true, as the Messages API streams it."""

    path = "/v1/messages"

    def error_body(self, error_type: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": error_type, "message": "scripted failure"}}

    async def frames(self, reply: Reply) -> AsyncIterator[bytes]:
        if reply.kind == "hang":
            return
        model = self.requests[-1].get("model", "claude")
        yield _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_stub",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 25,
                        "output_tokens": 1,
                        "cache_read_input_tokens": 0,
                        "cache_creation_input_tokens": 0,
                    },
                },
            },
        )
        index = 0
        if reply.text:
            yield _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            yield _sse("ping", {"type": "ping"})
            for piece in _chunks(reply.text):
                yield _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            if reply.kind == "stream_error":
                yield _sse("error", self.error_body(reply.error_type))
                return
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
            index = 1
        for number, (name, arguments) in enumerate(reply.tool_calls):
            block = index + number
            yield _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": block,
                    "content_block": {
                        "type": "tool_use",
                        "id": f"toolu_{block}_{name}",
                        "name": name,
                        "input": {},
                    },
                },
            )
            raw = json.dumps(arguments)
            for piece in _chunks(raw, 5):
                yield _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": block,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": block})
        stop = reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 12},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})


class OpenAIWire(WireServer):
    """POST /v1/chat/completions with stream=true, as chat completions stream it."""

    path = "/v1/chat/completions"

    def error_body(self, error_type: str) -> dict[str, Any]:
        return {"error": {"message": "scripted failure", "type": error_type, "code": None}}

    @staticmethod
    def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        payload = {
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "stub",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload)}\n\n".encode()

    async def frames(self, reply: Reply) -> AsyncIterator[bytes]:
        if reply.kind == "hang":
            return
        yield self._chunk({"role": "assistant", "content": ""})
        for piece in _chunks(reply.text):
            yield self._chunk({"content": piece})
        if reply.kind == "stream_error":
            yield f"data: {json.dumps(self.error_body(reply.error_type))}\n\n".encode()
            return
        for number, (name, arguments) in enumerate(reply.tool_calls):
            raw = json.dumps(arguments)
            yield self._chunk(
                {
                    "tool_calls": [
                        {
                            "index": number,
                            "id": f"call_{number}",
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ]
                }
            )
            for piece in _chunks(raw, 5):
                yield self._chunk(
                    {"tool_calls": [{"index": number, "function": {"arguments": piece}}]}
                )
        finish = reply.stop_reason or ("tool_calls" if reply.tool_calls else "stop")
        yield self._chunk({}, finish)
        usage = {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
        final = {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "stub",
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(final)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def main() -> None:
    """Serve a wire stub in its own process: `python -m tests.fakes.wire anthropic PORT DELAY`.

    Every request gets the same short reply after DELAY seconds (for benchmarks).
    """
    import sys

    kind, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    server = AnthropicWire() if kind == "anthropic" else OpenAIWire()
    server.default = Reply.say("Certainly. The kitchen lights are off now.", first_delay=delay)
    uvicorn.run(server.app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
