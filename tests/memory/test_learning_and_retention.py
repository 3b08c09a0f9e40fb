"""Learning in the background (never in the way of a reply), temporary chats, the daily
cap, retention, and a voice turn remembered in the next day's chat."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import asyncpg

from butler.memory.learning import is_trivial, parse_facts
from butler.memory.retention import sweep
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import wait_for
from tests.livekit_server import dispatched_credential
from tests.memory.conftest import LEARNING_MODEL
from tests.memory.test_memory_api import facts_of
from tests.support import Account, new_user_id, run


def learned(*facts: str) -> Reply:
    return Reply.say(json.dumps({"facts": [{"fact": f, "category": "person"} for f in facts]}))


def learning_requests(wire: AnthropicWire) -> list[dict[str, Any]]:
    return [r for r in wire.requests if r["model"] == LEARNING_MODEL]


def test_a_slow_learner_never_delays_the_reply(
    learner_account: Account, wire: AnthropicWire
) -> None:
    me = learner_account
    slow = learned("Sister Jane lives in Leeds")
    slow.first_delay = 2.0
    wire.play(Reply.say("How lovely."), slow)
    started = time.monotonic()
    response = me.client.post(
        "/api/chat", json={"message": "My sister Jane lives in Leeds"}, headers=me.auth
    )
    took = time.monotonic() - started
    assert response.status_code == 200 and response.json()["response"] == "How lovely."
    assert took < 1.5, f"the reply waited for the learner ({took:.2f} s)"
    assert facts_of(me) == []  # still learning
    assert wait_for(lambda: facts_of(me) == ["Sister Jane lives in Leeds"], timeout=10)
    request = learning_requests(wire)[-1]
    assert "My sister Jane lives in Leeds" in json.dumps(request["messages"])
    assert not request.get("tools")  # the extractor gets no tools to call


def test_a_voice_turn_is_remembered_in_the_next_days_chat(
    learner_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    me = learner_account
    credential, room = dispatched_credential(me)
    wire.play(Reply.say("I'll remember that."), learned("Daughter Mia starts school in September"))
    voice = me.client.post(
        "/api/voice/process",
        json={"transcript": "Mia starts school in September, remember that", "session_id": room},
        headers={"Authorization": f"Bearer {credential}"},
    )
    assert voice.status_code == 200, voice.text
    assert wait_for(lambda: "Daughter Mia starts school in September" in facts_of(me), 10)

    async def a_day_passes(conn: asyncpg.Connection) -> None:
        await conn.execute(
            """UPDATE butler.conversation_history SET created_at = created_at - interval '8 days'
               WHERE user_id = $1""",
            me.id,
        )

    run(a_day_passes, dsn)  # (past the history window, so only the fact can carry it)
    me.client.post("/api/chat", json={"message": "When does school start?"}, headers=me.auth)
    chat_request = [r for r in wire.requests if r["model"] != LEARNING_MODEL][-1]
    assert "Mia starts school in September" in json.dumps(chat_request["system"])
    assert "remember that" not in json.dumps(chat_request["messages"])


def test_temporary_chat_stores_nothing_and_learns_nothing(
    learner_account: Account, wire: AnthropicWire
) -> None:
    me = learner_account
    wire.play(Reply.say("Understood."), learned("Is secretly moving to Spain"))
    response = me.client.post(
        "/api/chat",
        json={"message": "Between us, I am moving to Spain next year", "temporary": True},
        headers=me.auth,
    )
    assert response.status_code == 200 and response.json()["message_id"] is None
    time.sleep(0.5)  # time enough for a learner to have asked
    assert learning_requests(wire) == []
    assert facts_of(me) == []
    assert me.client.get("/api/chat/history", headers=me.auth).json()["messages"] == []


def test_trivial_turns_are_skipped_and_the_daily_cap_holds(
    learner_account: Account, wire: AnthropicWire
) -> None:
    me = learner_account
    me.client.post("/api/chat", json={"message": "thanks!"}, headers=me.auth)
    time.sleep(0.3)
    assert learning_requests(wire) == []
    for n in range(5):  # the fixture's cap is 3 a day
        wire.play(Reply.say("Noted."), learned(f"Owns {n + 2} bicycles"))
        me.client.post(
            "/api/chat", json={"message": f"I own {n + 2} bicycles now"}, headers=me.auth
        )
        wait_for(lambda n=n: len(learning_requests(wire)) >= min(n + 1, 3), 5)
    time.sleep(0.3)
    assert len(learning_requests(wire)) == 3


def test_the_model_answer_is_parsed_defensively() -> None:
    assert (
        parse_facts('Sure! {"facts": [{"fact": "Likes jazz", "confidence": 3}]}')[0].confidence == 1
    )
    assert parse_facts("no json here") == []
    assert parse_facts('{"facts": "oops"}') == []
    assert parse_facts('{"facts": [{"fact": 7}, {"nope": 1}, {"fact": "ok"}]}') == []
    assert len(parse_facts(json.dumps({"facts": [{"fact": f"Fact {i}"} for i in range(9)]}))) == 3
    assert is_trivial("Thank you!") and is_trivial("hi") and not is_trivial("My son is eight")


def test_retention_deletes_exactly_what_is_old(dsn: str) -> None:
    async def scenario(conn: asyncpg.Connection) -> tuple[int, list[str]]:
        users = [await new_user_id(conn), await new_user_id(conn)]
        for user in users:
            for age_days, text in (
                (400, "ancient"),
                (31, "last month"),
                (29, "recent"),
                (0, "today"),
            ):
                await conn.execute(
                    """INSERT INTO butler.conversation_history
                           (user_id, channel, role, content, created_at)
                       VALUES ($1, 'text', 'user', $2, now() - make_interval(days => $3))""",
                    user,
                    text,
                    age_days,
                )
        await conn.execute(
            """INSERT INTO butler.user_facts (user_id, fact, expires_at) VALUES
               ($1, 'Parcel arrives tomorrow', now() - interval '1 hour'),
               ($1, 'Holiday in August', now() + interval '30 days'),
               ($1, 'Is vegetarian', NULL)""",
            users[0],
        )
        swept = await sweep(conn, keep_history=timedelta(days=30))
        assert swept.facts == 1
        left = await conn.fetch(
            """SELECT content FROM butler.conversation_history WHERE user_id = ANY($1)
               ORDER BY user_id, created_at""",
            users,
        )
        facts = await conn.fetchval(
            "SELECT count(*) FROM butler.user_facts WHERE user_id = $1", users[0]
        )
        assert facts == 2
        return swept.messages, [r["content"] for r in left]

    deleted, left = run(scenario, dsn)
    assert left == ["recent", "today", "recent", "today"]
    assert deleted >= 4  # these users' old rows (other tests' rows are all recent)
