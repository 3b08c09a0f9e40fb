"""Text chat through the real Anthropic SDK against a local Messages-API wire server."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.fakes import tools as fake_tools
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import (
    last_user_text,
    parse_sse,
    stored,
    stream,
    text_of,
    wait_for,
)
from tests.support import Account, live_server, make_settings, register, run

SSE = {"Accept": "text/event-stream"}


def test_plain_text_json(chat_account: Account, wire: AnthropicWire, dsn: str) -> None:
    wire.play(Reply.say("Good evening. The kettle is on."))
    response = chat_account.client.post(
        "/api/chat", json={"message": "Hello there"}, headers=chat_account.auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"] == "Good evening. The kettle is on."
    assert isinstance(body["message_id"], int)

    request = wire.requests[-1]
    assert request["stream"] is True
    assert request["model"] == "claude-sonnet-5-5"
    assert "sk-ant-test" in (
        wire.headers[-1].get("x-api-key", "") + wire.headers[-1].get("authorization", "")
    )
    assert last_user_text(request) == "Hello there"
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "Butler" in request["system"][0]["text"]
    assert "markdown is fine" in request["system"][0]["text"]
    assert "It is now" in request["system"][1]["text"]
    assert "cache_control" not in request["system"][1]
    names = [t["name"] for t in request["tools"]]
    assert {"current_time", "end_conversation"} <= set(names)
    assert request["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in t for t in request["tools"][:-1])

    rows = stored(dsn, chat_account.id)
    assert [(r["role"], r["content"], r["channel"]) for r in rows] == [
        ("user", "Hello there", "text"),
        ("assistant", "Good evening. The kettle is on.", "text"),
    ]


def test_plain_text_streams_as_sse(chat_account: Account, wire: AnthropicWire) -> None:
    reply = "Of course. Your umbrella is by the door, and it will rain at four."
    wire.play(Reply.say(reply), Reply.say(reply))
    for path, headers in (("/api/chat", SSE), ("/api/chat/stream", {})):
        raw = stream(
            chat_account.client, path, {"message": "Umbrella?"}, chat_account.auth | headers
        )
        events = parse_sse(raw)
        deltas = [d for name, d in events if name == "text_delta"]
        assert len(deltas) > 3, "the reply arrives in pieces, as it is generated"
        assert text_of(events) == reply
        assert events[-1][0] == "done"
        assert isinstance(events[-1][1]["message_id"], int)
        assert events[-1][1]["should_end_turn"] is False


def test_one_tool_round(chat_account: Account, wire: AnthropicWire, dsn: str) -> None:
    chat_account.client.patch(
        "/api/users/me", json={"timezone": "Asia/Tokyo"}, headers=chat_account.auth
    )
    wire.play(
        Reply.use_tools(("current_time", {}), text="Let me check."),
        Reply.say("It is late evening in Tokyo."),
    )
    events = parse_sse(
        stream(
            chat_account.client,
            "/api/chat/stream",
            {"message": "What time is it?"},
            chat_account.auth,
        )
    )
    names = [name for name, _ in events]
    assert names.index("tool_started") < names.index("tool_finished") < names.index("done")
    started = next(d for n, d in events if n == "tool_started")
    assert started["name"] == "current_time"
    assert started["label"] == "Checking the time"
    assert next(d for n, d in events if n == "tool_finished")["ok"] is True
    # Two paragraphs, not one glued sentence, on screen and in history.
    assert text_of(events) == "Let me check.\n\nIt is late evening in Tokyo."
    assert stored(dsn, chat_account.id)[-1]["content"] == (
        "Let me check.\n\nIt is late evening in Tokyo."
    )

    assert len(wire.requests) == 2
    follow_up = wire.requests[1]["messages"]
    assistant, results = follow_up[-2], follow_up[-1]
    assert assistant["role"] == "assistant"
    tool_use = next(b for b in assistant["content"] if b["type"] == "tool_use")
    assert tool_use["name"] == "current_time"
    result = results["content"][0]
    assert result["type"] == "tool_result"
    assert result["tool_use_id"] == tool_use["id"]
    assert "(Asia/Tokyo)" in result["content"]
    assert result["is_error"] is False

    async def audit(conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT tool_name, status FROM butler.tool_usage WHERE user_id = $1", chat_account.id
        )
        return [f"{r['tool_name']}:{r['status']}" for r in rows]

    assert run(audit, dsn) == ["current_time:ok"]
    assert stored(dsn, chat_account.id)[-1]["metadata"]["tools"] == ["current_time"]


def test_two_tool_calls_in_one_reply_run_concurrently(
    chat_account: Account, wire: AnthropicWire
) -> None:
    fake_tools.CALLS.clear()
    wire.play(
        Reply.use_tools(("slow_lookup", {"item": "milk"}), ("slow_lookup", {"item": "eggs"})),
        Reply.say("You have milk and eggs."),
    )
    response = chat_account.client.post(
        "/api/chat", json={"message": "Milk and eggs?"}, headers=chat_account.auth
    )
    assert response.json()["response"] == "You have milk and eggs."
    (first, a_start, a_end), (second, b_start, b_end) = sorted(fake_tools.CALLS)
    assert {first, second} == {"eggs", "milk"}
    assert a_start < b_end and b_start < a_end, "both lookups were running at the same time"
    results = wire.requests[1]["messages"][-1]["content"]
    assert [r["content"] for r in results] == [
        f"milk: two left, for {chat_account.username}",
        f"eggs: two left, for {chat_account.username}",
    ]


def test_tool_errors_reach_the_model_and_crashes_stay_private(
    chat_account: Account, wire: AnthropicWire
) -> None:
    wire.play(
        Reply.use_tools(("open_garage", {}), ("feed_fish", {"grams": 5}), ("feed_fish", {})),
        Reply.say("Sorry, the garage is jammed and the fish feeder is broken."),
    )
    events = parse_sse(
        stream(
            chat_account.client,
            "/api/chat/stream",
            {"message": "Garage and fish"},
            chat_account.auth,
        )
    )
    assert [d["ok"] for n, d in events if n == "tool_finished"] == [False, False, False]
    results = wire.requests[1]["messages"][-1]["content"]
    assert results[0] == {
        "type": "tool_result",
        "tool_use_id": results[0]["tool_use_id"],
        "content": "The garage door is jammed.",
        "is_error": True,
    }
    assert results[1]["content"] == "The tool failed unexpectedly."
    assert "on fire" not in str(wire.requests[1])
    assert results[2]["content"].startswith("Invalid arguments: grams")
    assert events[-1][0] == "done"


def test_overload_before_the_first_token_is_retried(
    chat_account: Account, wire: AnthropicWire
) -> None:
    wire.play(Reply.fail(529), Reply.fail(429, "rate_limit_error"), Reply.say("Here I am."))
    response = chat_account.client.post(
        "/api/chat", json={"message": "Anyone there?"}, headers=chat_account.auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["response"] == "Here I am."
    assert len(wire.requests) == 3


def test_persistent_overload_is_a_502_with_a_sentence(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(Reply.fail(529), Reply.fail(529), Reply.fail(529))
    response = chat_account.client.post(
        "/api/chat", json={"message": "Hello?"}, headers=chat_account.auth
    )
    assert response.status_code == 502
    assert response.json() == {
        "error": "llm_overloaded",
        "message": "My language model is overloaded right now.",
    }
    assert stored(dsn, chat_account.id) == []


def test_bad_credentials_are_not_retried(chat_account: Account, wire: AnthropicWire) -> None:
    wire.play(Reply.fail(401, "authentication_error"))
    events = parse_sse(
        stream(chat_account.client, "/api/chat/stream", {"message": "Hi"}, chat_account.auth)
    )
    assert events == [
        (
            "error",
            {
                "code": "llm_auth",
                "message": "My language model refused Butler's credentials; "
                "check BUTLER_LLM__API_KEY.",
            },
        )
    ]
    assert len(wire.requests) == 1


def test_overload_mid_stream_ends_with_an_error_event_and_stores_nothing(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(Reply.break_after("The weather today is"))
    events = parse_sse(
        stream(chat_account.client, "/api/chat/stream", {"message": "Weather?"}, chat_account.auth)
    )
    assert text_of(events) == "The weather today is"
    assert events[-1] == (
        "error",
        {"code": "llm_overloaded", "message": "My language model is overloaded right now."},
    )
    assert len(wire.requests) == 1, "text was already sent, so no retry"
    assert stored(dsn, chat_account.id) == []


def test_provider_timeout_gives_an_error_event_promptly(
    chat_account: Account, wire: AnthropicWire
) -> None:
    wire.play(Reply.hang(10))
    started = time.monotonic()
    events = parse_sse(
        stream(chat_account.client, "/api/chat/stream", {"message": "Hi"}, chat_account.auth)
    )
    elapsed = time.monotonic() - started
    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == "llm_timeout"
    assert events[-1][1]["message"] == "My language model took too long to answer."
    # The chat server's provider timeout is 1 s; the error follows it, with no retry.
    assert elapsed < 2.5
    assert len(wire.requests) == 1


def test_client_disconnect_cancels_upstream_and_stores_nothing(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(Reply.say("word " * 200, chunk_delay=0.02))
    with chat_account.client.stream(
        "POST",
        "/api/chat/stream",
        json={"message": "Tell me a long story"},
        headers=chat_account.auth,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event: text_delta"):
                break
    assert wait_for(lambda: wire.disconnects == 1), "the upstream LLM request was not cancelled"
    assert wire.completed == 0
    time.sleep(0.3)
    assert stored(dsn, chat_account.id) == []


def test_a_json_turn_whose_client_left_is_cancelled_and_stores_nothing(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(Reply.say("word " * 200, chunk_delay=0.02))
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes the connection
        chat_account.client.post(
            "/api/chat",
            json={"message": "Tell me a long story"},
            headers=chat_account.auth,
            timeout=httpx.Timeout(10, read=0.5),
        )
    assert wait_for(lambda: wire.disconnects == 1), "the upstream LLM request was not cancelled"
    assert wire.completed == 0
    time.sleep(0.5)
    assert stored(dsn, chat_account.id) == []


def test_keep_alive_comments_while_the_model_thinks(
    chat_account: Account, wire: AnthropicWire
) -> None:
    wire.play(Reply("text", text="Done thinking.", first_delay=0.8))
    raw = stream(chat_account.client, "/api/chat/stream", {"message": "Think"}, chat_account.auth)
    assert raw.startswith(": keep-alive\n\n")
    assert text_of(parse_sse(raw)) == "Done thinking."


def test_messages_older_than_the_window_are_not_sent(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        for age, text in ((timedelta(days=8), "ancient"), (timedelta(days=6), "recent")):
            for role in ("user", "assistant"):
                await conn.execute(
                    "INSERT INTO butler.conversation_history "
                    "(user_id, channel, role, content, created_at) "
                    "VALUES ($1, 'whatsapp', $2, $3, now() - $4::interval)",
                    chat_account.id,
                    role,
                    f"{text} {role}",
                    age,
                )

    run(seed, dsn)
    chat_account.client.post("/api/chat", json={"message": "Now"}, headers=chat_account.auth)
    sent = str(wire.requests[-1]["messages"])
    assert "recent user" in sent
    assert "recent assistant" in sent
    assert "ancient" not in sent


def test_temporary_chat_stores_nothing(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    response = chat_account.client.post(
        "/api/chat", json={"message": "Secret", "temporary": True}, headers=chat_account.auth
    )
    assert response.json() == {"response": "Certainly.", "message_id": None}
    assert stored(dsn, chat_account.id) == []


def test_history_pages_and_clears(chat_account: Account, wire: AnthropicWire) -> None:
    for n in range(3):
        wire.play(Reply.say(f"reply {n}"))
        chat_account.client.post(
            "/api/chat", json={"message": f"message {n}"}, headers=chat_account.auth
        )
    first = chat_account.client.get(
        "/api/chat/history", params={"limit": 4}, headers=chat_account.auth
    ).json()
    assert [m["content"] for m in first["messages"]] == [
        "reply 2",
        "message 2",
        "reply 1",
        "message 1",
    ]
    assert first["next_before"] == first["messages"][-1]["id"]
    rest = chat_account.client.get(
        "/api/chat/history",
        params={"limit": 4, "before": first["next_before"]},
        headers=chat_account.auth,
    ).json()
    assert [m["content"] for m in rest["messages"]] == ["reply 0", "message 0"]
    assert rest["next_before"] is None
    bad = chat_account.client.get(
        "/api/chat/history", params={"limit": 0}, headers=chat_account.auth
    )
    assert bad.status_code == 422
    assert (
        chat_account.client.delete("/api/chat/history", headers=chat_account.auth).status_code
        == 204
    )
    empty = chat_account.client.get("/api/chat/history", headers=chat_account.auth).json()
    assert empty == {"messages": [], "next_before": None}


def test_forgetting_one_exchange_by_either_half(
    chat_url: str, dsn: str, chat_account: Account, wire: AnthropicWire
) -> None:
    ids = []
    for n in range(3):
        wire.play(Reply.say(f"reply {n}"))
        sent = chat_account.client.post(
            "/api/chat", json={"message": f"message {n}"}, headers=chat_account.auth
        )
        ids.append(sent.json()["message_id"])

    def contents() -> list[str]:
        page = chat_account.client.get("/api/chat/history", headers=chat_account.auth).json()
        return [m["content"] for m in page["messages"]]

    by_content = {
        m["content"]: m["id"]
        for m in chat_account.client.get("/api/chat/history", headers=chat_account.auth).json()[
            "messages"
        ]
    }
    # By the question's id: the question and its reply go, the others stay.
    gone = chat_account.client.delete(
        f"/api/chat/history/{by_content['message 1']}", headers=chat_account.auth
    )
    assert gone.status_code == 204, gone.text
    assert contents() == ["reply 2", "message 2", "reply 0", "message 0"]
    # By the reply's id (all a browser knows of a turn it has just sent).
    gone = chat_account.client.delete(f"/api/chat/history/{ids[2]}", headers=chat_account.auth)
    assert gone.status_code == 204
    assert contents() == ["reply 0", "message 0"]

    # Someone else's message, an unknown one or a bad id: refused, nothing deleted.
    other = register(chat_url, dsn)
    theirs = other.client.delete(f"/api/chat/history/{ids[0]}", headers=other.auth)
    assert theirs.status_code == 404 and theirs.json()["error"] == "message_not_found"
    again = chat_account.client.delete(f"/api/chat/history/{ids[2]}", headers=chat_account.auth)
    assert again.status_code == 404
    for bad in ("0", "abc", str(2**63)):
        response = chat_account.client.delete(f"/api/chat/history/{bad}", headers=chat_account.auth)
        assert response.status_code == 422, (bad, response.text)
    assert contents() == ["reply 0", "message 0"]


def test_history_is_private(
    chat_url: str, dsn: str, chat_account: Account, wire: AnthropicWire
) -> None:
    from tests.support import register

    other = register(chat_url, dsn)
    chat_account.client.post("/api/chat", json={"message": "mine"}, headers=chat_account.auth)
    theirs = other.client.get("/api/chat/history", headers=other.auth).json()
    assert theirs["messages"] == []
    other.client.delete("/api/chat/history", headers=other.auth)
    mine = chat_account.client.get("/api/chat/history", headers=chat_account.auth).json()
    assert len(mine["messages"]) == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": ""},
        {"message": "   "},
        {"message": "x" * 8001},
        {"message": 5},
        {"message": "hi", "user_id": "someone-else"},
    ],
)
def test_bad_chat_bodies(chat_account: Account, body: dict[str, object]) -> None:
    response = chat_account.client.post("/api/chat", json=body, headers=chat_account.auth)
    assert response.status_code == 422


def test_without_a_language_model_chat_says_what_to_set(base_url: str, new_account: object) -> None:
    account = new_account()  # type: ignore[operator]
    response = account.client.post("/api/chat", json={"message": "Hi"}, headers=account.auth)
    assert response.status_code == 503
    assert response.json()["error"] == "llm_not_configured"
    assert "ANTHROPIC_API_KEY" in response.json()["message"]
    streamed = account.client.post("/api/chat/stream", json={"message": "Hi"}, headers=account.auth)
    assert streamed.status_code == 503
    assert httpx.get(f"{base_url}/readyz").status_code == 200


def test_more_concurrent_streams_than_database_connections(
    dsn: str, anthropic_wire: AnthropicWire, tmp_path: Path
) -> None:
    """A stream holds no pooled connection while it waits on the model."""
    settings = make_settings(
        tmp_path,
        llm={"api_key": "k", "base_url": anthropic_wire.base_url, "timeout_seconds": 5},
    ).model_copy(update={"database_pool_size": 2})
    anthropic_wire.reset()
    anthropic_wire.default = Reply.say("All at once.", first_delay=0.3)
    try:
        with live_server(settings, dsn) as url:
            account = register(url, dsn)

            async def one(client: httpx.AsyncClient) -> str:
                async with client.stream(
                    "POST", "/api/chat/stream", json={"message": "Go"}, headers=account.auth
                ) as response:
                    return text_of(parse_sse("".join([c async for c in response.aiter_text()])))

            async def crowd() -> list[str]:
                async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                    return await asyncio.gather(*(one(client) for _ in range(8)))

            assert asyncio.run(crowd()) == ["All at once."] * 8
    finally:
        anthropic_wire.default = Reply.say("Certainly.")


def test_a_nul_character_in_a_message_is_refused(chat_account: Account) -> None:
    response = chat_account.client.post(
        "/api/chat", json={"message": "hi\u0000there"}, headers=chat_account.auth
    )
    assert response.status_code == 422


@pytest.mark.parametrize("text", ["\u001c", "call \u0007mum", "\u007f", "x\u0085"])
def test_control_characters_are_refused_on_their_field_before_the_model(
    chat_account: Account, wire: AnthropicWire, text: str
) -> None:
    response = chat_account.client.post(
        "/api/chat", json={"message": text}, headers=chat_account.auth
    )
    assert response.status_code == 422, response.text
    assert "message" in response.json()["message"]
    assert "control characters" in response.json()["message"]
    assert wire.requests == []


def test_tabs_and_line_breaks_are_fine(chat_account: Account, wire: AnthropicWire) -> None:
    response = chat_account.client.post(
        "/api/chat", json={"message": "a list:\r\n\t- milk\n\t- eggs"}, headers=chat_account.auth
    )
    assert response.status_code == 200, response.text


def test_history_can_be_searched_for_words_in_any_case(
    chat_account: Account, wire: AnthropicWire
) -> None:
    wire.play(Reply.say("The plumber comes on Tuesday."), Reply.say("Milk and eggs, noted."))
    for message in ("When is the PLUMBER coming?", "Add milk to the list"):
        sent = chat_account.client.post(
            "/api/chat", json={"message": message}, headers=chat_account.auth
        )
        assert sent.status_code == 200, sent.text
    found = chat_account.client.get(
        "/api/chat/history", params={"query": "plumber"}, headers=chat_account.auth
    )
    assert found.status_code == 200, found.text
    assert [m["content"] for m in found.json()["messages"]] == [
        "The plumber comes on Tuesday.",
        "When is the PLUMBER coming?",
    ]
    # A % or _ is text, not a pattern.
    none = chat_account.client.get(
        "/api/chat/history", params={"query": "%"}, headers=chat_account.auth
    )
    assert none.json()["messages"] == []
    bad = chat_account.client.get(
        "/api/chat/history", params={"query": "a\x00b"}, headers=chat_account.auth
    )
    assert bad.status_code == 422
