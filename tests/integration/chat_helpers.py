"""Reading server-sent events and the history table in chat tests; the voice worker's
side of the API."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from tests.fakes.wire import AnthropicWire
from tests.livekit_server import dispatched_credential
from tests.support import Account, run


def parse_sse(raw: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.split("\n\n"):
        name, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
        if name is not None and data is not None:
            events.append((name, data))
    return events


def stream(client: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    with client.stream("POST", path, json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return "".join(response.iter_text())


def text_of(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(data["text"] for name, data in events if name == "text_delta")


def stored(dsn: str, user_id: uuid.UUID) -> list[dict[str, Any]]:
    async def fetch(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT role, content, channel, session_id, metadata FROM butler.conversation_history"
            " WHERE user_id = $1 ORDER BY id",
            user_id,
        )
        return [dict(r) for r in rows]

    return run(fetch, dsn)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def last_user_text(request: dict[str, Any]) -> str:
    content = request["messages"][-1]["content"]
    return "".join(block.get("text", "") for block in content if block["type"] == "text")


def tool_result(wire: AnthropicWire) -> str:
    """What the tools told the model: the tool results of the wire's latest request."""
    content = wire.requests[-1]["messages"][-1]["content"]
    return "".join(
        block["content"] if isinstance(block["content"], str) else block["content"][0]["text"]
        for block in content
        if block["type"] == "tool_result"
    )


def voice_worker(account: Account) -> tuple[httpx.Client, str]:
    """What the voice worker holds for a room: a client with its credential, the room."""
    credential, room = dispatched_credential(account)
    client = httpx.Client(
        base_url=str(account.client.base_url),
        headers={"Authorization": f"Bearer {credential}"},
        timeout=30,
    )
    return client, room


def voice_stream(client: httpx.Client, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with client.stream("POST", "/api/voice/stream", json=body) as response:
        assert response.status_code == 200, response.read()
        return parse_sse("".join(response.iter_text()))
