"""MCP servers' tools through chat: a local stdio server from the settings and a
streamable-HTTP one an admin adds in the app, both built with the official SDK."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from butler.config import McpServerConfig, McpSettings
from butler.users.models import Role
from tests.fakes.mcp_server import serving_http
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import (
    text_of,
    tool_result,
    voice_stream,
    voice_worker,
    wait_for,
)
from tests.livekit_server import LiveKitServer
from tests.support import Account, claude_at, live_server, make_settings, register, run

STDIO_SERVER = str(Path(__file__).resolve().parents[1] / "fakes" / "mcp_server.py")


@pytest.fixture(scope="module")
def http_mcp() -> Iterator[str]:
    with serving_http() as url:
        yield url


@pytest.fixture(scope="module")
def server(
    dsn: str,
    anthropic_wire: AnthropicWire,
    livekit: LiveKitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("mcp"),
        llm=claude_at(anthropic_wire.base_url, 5),
        livekit=livekit.settings,
    )
    settings.mcp = McpSettings(
        servers=[
            McpServerConfig(
                name="pantry", command=sys.executable, args=[STDIO_SERVER], people="everyone"
            ),
            McpServerConfig(name="gone", command="/nonexistent/mcp-server"),
        ],
        call_timeout_seconds=1.0,
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture(scope="module")
def admin(server: str, dsn: str) -> Account:
    return register(server, dsn, Role.ADMIN)


@pytest.fixture
def member(server: str, dsn: str) -> Account:
    return register(server, dsn)


def servers(admin: Account) -> dict[str, dict[str, Any]]:
    answer = admin.client.get("/api/admin/mcp/servers", headers=admin.auth)
    assert answer.status_code == 200, answer.text
    return {s["name"]: s for s in answer.json()["servers"]}


def connected(admin: Account, name: str) -> bool:
    return servers(admin).get(name, {}).get("state") == "connected"


def offered(wire: AnthropicWire) -> set[str]:
    return {t["name"] for t in wire.requests[-1].get("tools", [])}


def use(account: Account, wire: AnthropicWire, tool: str, arguments: dict[str, Any]) -> str:
    wire.play(Reply.use_tools((tool, arguments)), Reply.say("There you are."))
    answer = account.client.post("/api/chat", json={"message": "Go on"}, headers=account.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["response"] == "There you are."
    return tool_result(wire)


def test_a_stdio_servers_tools_work_from_chat(
    admin: Account, member: Account, wire: AnthropicWire, dsn: str
) -> None:
    assert wait_for(lambda: connected(admin, "pantry"), timeout=20), servers(admin)
    assert use(member, wire, "mcp_pantry__add", {"a": 2, "b": 3}) == "5"
    assert "mcp_pantry__shopping_list" in offered(wire)
    assert use(member, wire, "mcp_pantry__shopping_list", {}) == "eggs, flour, milk"

    async def audited(conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT tool_name FROM butler.tool_usage WHERE user_id = $1", member.id
        )
        return [r["tool_name"] for r in rows]

    assert run(audited, dsn) == ["mcp_pantry__add", "mcp_pantry__shopping_list"]


def test_a_slow_or_failing_tool_never_breaks_the_turn(
    admin: Account, member: Account, wire: AnthropicWire
) -> None:
    assert wait_for(lambda: connected(admin, "pantry"), timeout=20)
    started = time.monotonic()
    assert "did not answer in time" in use(member, wire, "mcp_pantry__slow", {"seconds": 5})
    assert time.monotonic() - started < 4
    assert "Error executing tool broken" in use(member, wire, "mcp_pantry__broken", {})
    assert "a" in use(member, wire, "mcp_pantry__add", {"a": "many"})  # the server says why


def test_a_server_that_cannot_start_is_shown_and_offers_nothing(
    admin: Account, member: Account, wire: AnthropicWire
) -> None:
    assert wait_for(lambda: servers(admin)["gone"]["state"] == "failed", timeout=20)
    gone = servers(admin)["gone"]
    assert gone["error"] and gone["tools"] == [] and gone["source"] == "settings"
    use(member, wire, "mcp_gone__anything", {})
    assert "There is no tool named" in tool_result(wire)
    assert not any(name.startswith("mcp_gone") for name in offered(wire))


def test_an_admin_adds_an_http_server_for_admins_only(
    admin: Account, member: Account, wire: AnthropicWire, http_mcp: str
) -> None:
    path = "/api/admin/mcp/servers/kitchen"
    assert member.client.put(path, json={"url": http_mcp}, headers=member.auth).status_code == 403
    answer = admin.client.put(path, json={"url": http_mcp}, headers=admin.auth)
    assert answer.status_code == 201, answer.text
    assert wait_for(lambda: connected(admin, "kitchen"), timeout=20), servers(admin)
    assert use(admin, wire, "mcp_kitchen__add", {"a": 40, "b": 2}) == "42"
    assert "mcp_kitchen__add" in offered(wire)
    use(member, wire, "mcp_kitchen__add", {"a": 1, "b": 1})  # not theirs to use
    assert "There is no tool named" in tool_result(wire)
    assert "mcp_kitchen__add" not in offered(wire)

    settings_one = admin.client.put(
        "/api/admin/mcp/servers/pantry", json={"url": http_mcp}, headers=admin.auth
    )
    assert settings_one.status_code == 409
    bad = admin.client.put(path, json={"url": "ftp://x/mcp"}, headers=admin.auth)
    assert bad.status_code == 422
    assert admin.client.delete(path, headers=admin.auth).status_code == 204
    assert admin.client.delete(path, headers=admin.auth).status_code == 404
    assert "kitchen" not in servers(admin)


def test_an_mcp_tool_by_voice(admin: Account, member: Account, wire: AnthropicWire) -> None:
    assert wait_for(lambda: connected(admin, "pantry"), timeout=20)
    worker, room = voice_worker(member)
    wire.play(
        Reply.use_tools(("mcp_pantry__shopping_list", {})),
        Reply.say("Eggs, flour and milk."),
    )
    events = voice_stream(worker, {"transcript": "What do we need?", "session_id": room})
    assert text_of(events) == "Eggs, flour and milk."
    assert tool_result(wire) == "eggs, flour, milk"
