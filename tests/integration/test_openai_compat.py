"""The same brain through the official `openai` SDK against a local chat-completions
wire server (as Ollama, vLLM or Groq would serve it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.wire import OpenAIWire, Reply
from tests.integration.chat_helpers import parse_sse, stored, text_of
from tests.support import Account, live_server, make_settings, register


@pytest.fixture(scope="module")
def openai_wire() -> Iterator[OpenAIWire]:
    with OpenAIWire().running() as wire:
        yield wire  # type: ignore[misc]


@pytest.fixture(scope="module")
def openai_url(
    dsn: str, openai_wire: OpenAIWire, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("openai"),
        llm={
            "provider": "openai",
            "model": "llama3.1",
            "base_url": openai_wire.base_url + "/v1",
            "timeout_seconds": 1.0,
        },
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture
def account(openai_url: str, dsn: str, openai_wire: OpenAIWire) -> Account:
    openai_wire.reset()
    return register(openai_url, dsn)


def test_plain_text(account: Account, openai_wire: OpenAIWire, dsn: str) -> None:
    openai_wire.play(Reply.say("Hello from a local model."))
    response = account.client.post("/api/chat", json={"message": "Hi"}, headers=account.auth)
    assert response.status_code == 200, response.text
    assert response.json()["response"] == "Hello from a local model."
    request = openai_wire.requests[-1]
    assert request["model"] == "llama3.1"
    assert request["stream"] is True
    assert request["messages"][0]["role"] == "system"
    assert request["messages"][-1] == {"role": "user", "content": "Hi"}
    assert {t["function"]["name"] for t in request["tools"]} >= {"current_time"}
    assert [r["role"] for r in stored(dsn, account.id)] == ["user", "assistant"]


def test_tool_round_and_two_calls(account: Account, openai_wire: OpenAIWire) -> None:
    openai_wire.play(
        Reply.use_tools(("current_time", {}), ("end_conversation", {})),
        Reply.say("It is evening. Goodbye!"),
    )
    with account.client.stream(
        "POST", "/api/chat/stream", json={"message": "Time, then bye"}, headers=account.auth
    ) as response:
        events = parse_sse("".join(response.iter_text()))
    assert [d["name"] for n, d in events if n == "tool_started"] == [
        "current_time",
        "end_conversation",
    ]
    assert events[-1] == (
        "done",
        {
            "message_id": events[-1][1]["message_id"],
            "should_end_turn": True,
            "home_action_id": None,
        },
    )
    follow_up = openai_wire.requests[1]["messages"]
    assistant = follow_up[-3]
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == [
        "current_time",
        "end_conversation",
    ]
    assert [m["role"] for m in follow_up[-2:]] == ["tool", "tool"]
    assert follow_up[-2]["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert text_of(events) == "It is evening. Goodbye!"


def test_overload_retried_then_mid_stream_error(
    account: Account, openai_wire: OpenAIWire, dsn: str
) -> None:
    openai_wire.play(Reply.fail(503, "server_error"), Reply.say("Back again."))
    ok = account.client.post("/api/chat", json={"message": "Hi"}, headers=account.auth)
    assert ok.json()["response"] == "Back again."

    openai_wire.play(Reply.break_after("Half a"))
    with account.client.stream(
        "POST", "/api/chat/stream", json={"message": "Story"}, headers=account.auth
    ) as response:
        events = parse_sse("".join(response.iter_text()))
    assert text_of(events) == "Half a"
    assert events[-1][0] == "error"
    assert len(stored(dsn, account.id)) == 2, "only the first, complete turn is stored"
