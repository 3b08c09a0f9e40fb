"""Facts through the API and the LLM's tools; one person's memory never reaches another."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from tests.fakes.wire import AnthropicWire, Reply
from tests.support import Account, register, run


def add(account: Account, fact: str, **extra: Any) -> dict[str, Any]:
    response = account.client.post(
        "/api/memory/facts", json={"fact": fact, **extra}, headers=account.auth
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def facts_of(account: Account, query: str | None = None) -> list[str]:
    params = {"query": query} if query else {}
    response = account.client.get("/api/memory/facts", params=params, headers=account.auth)
    assert response.status_code == 200, response.text
    return [f["fact"] for f in response.json()["facts"]]


def test_facts_are_added_listed_searched_edited_and_deleted(chat_account: Account) -> None:
    me = chat_account
    dog = add(me, "Has a golden retriever called Biscuit", category="pets")
    add(me, "Is allergic to peanuts", category="health", confidence=0.9)
    assert facts_of(me) == ["Is allergic to peanuts", "Has a golden retriever called Biscuit"]
    assert facts_of(me, "what is my dog's name")[0] == "Has a golden retriever called Biscuit"

    edited = me.client.patch(
        f"/api/memory/facts/{dog['id']}",
        json={"fact": "Has a golden retriever called Biscuit, aged four"},
        headers=me.auth,
    )
    assert edited.status_code == 200 and edited.json()["category"] == "pets"
    assert facts_of(me, "how old is the dog")[0].endswith("aged four")

    assert me.client.delete(f"/api/memory/facts/{dog['id']}", headers=me.auth).status_code == 204
    assert me.client.delete(f"/api/memory/facts/{dog['id']}", headers=me.auth).status_code == 404
    assert facts_of(me) == ["Is allergic to peanuts"]


def test_a_repeated_fact_updates_the_stored_one(chat_account: Account) -> None:
    me = chat_account
    first = add(me, "Has a dog called Biscuit", confidence=0.6)
    again = me.client.post(
        "/api/memory/facts", json={"fact": "Has a dog named Biscuit"}, headers=me.auth
    )
    assert again.status_code == 200  # merged, not created
    assert again.json()["id"] == first["id"]
    assert again.json()["confidence"] == 1.0
    same_words = me.client.post(
        "/api/memory/facts", json={"fact": "  has a DOG named biscuit "}, headers=me.auth
    )
    assert same_words.status_code == 200 and same_words.json()["id"] == first["id"]
    different = add(me, "Has a cat called Biscuit")
    assert different["id"] != first["id"]
    assert len(facts_of(me)) == 2


def test_bad_input_gets_clear_errors(chat_account: Account) -> None:
    me = chat_account
    for body in (
        {"fact": ""},
        {"fact": "   "},
        {"fact": "x" * 501},
        {"fact": "ok", "confidence": 2},
        {"fact": "ok", "category": "<script>"},
        {"fact": "ok", "owner": "someone"},
    ):
        response = me.client.post("/api/memory/facts", json=body, headers=me.auth)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_request"
    assert (
        me.client.patch("/api/memory/facts/not-a-uuid", json={}, headers=me.auth).status_code == 422
    )
    assert (
        me.client.get("/api/memory/facts", params={"limit": 0}, headers=me.auth).status_code == 422
    )
    assert me.client.get("/api/memory/facts").status_code == 401


def test_one_persons_facts_never_reach_another(
    chat_url: str, dsn: str, chat_account: Account, wire: AnthropicWire
) -> None:
    ann, bob = chat_account, register(chat_url, dsn)
    secret = add(ann, "Is planning a surprise party for Bob in May")
    add(bob, "Likes board games")

    assert "Is planning a surprise party for Bob in May" not in facts_of(bob, "surprise party")
    assert facts_of(bob, "party Bob May surprise") == []
    path = f"/api/memory/facts/{secret['id']}"
    assert bob.client.patch(path, json={"fact": "nothing"}, headers=bob.auth).status_code == 404
    assert bob.client.delete(path, headers=bob.auth).status_code == 404
    assert "Is planning a surprise party for Bob in May" in facts_of(ann)

    # The prompt: Ann's turn carries her fact, Bob's (asking about it) does not.
    ann.client.post("/api/chat", json={"message": "What am I planning for May?"}, headers=ann.auth)
    assert "surprise party" in json.dumps(wire.requests[-1]["system"])
    bob.client.post("/api/chat", json={"message": "Is there a surprise party?"}, headers=bob.auth)
    bob_request = json.dumps(wire.requests[-1])
    assert "surprise party for Bob" not in bob_request
    assert "Likes board games" in bob_request


def test_the_models_tools_act_for_the_signed_in_person_only(
    chat_url: str, dsn: str, chat_account: Account, wire: AnthropicWire
) -> None:
    ann, bob = chat_account, register(chat_url, dsn)
    bobs = add(bob, "Keeps a diary in the top drawer")
    wire.play(
        Reply.use_tools(("remember_fact", {"fact": "Prefers tea with oat milk"})),
        Reply.say("Noted."),
    )
    ann.client.post("/api/chat", json={"message": "I take oat milk in tea"}, headers=ann.auth)
    assert facts_of(ann) == ["Prefers tea with oat milk"]
    assert "Prefers tea with oat milk" not in facts_of(bob)

    # Ann's model is handed Bob's fact id: the tool refuses, and Bob's fact stays.
    wire.play(Reply.use_tools(("forget_fact", {"fact_id": bobs["id"]})), Reply.say("Hmm."))
    ann.client.post("/api/chat", json={"message": "Forget that"}, headers=ann.auth)
    tool_result = wire.requests[-1]["messages"][-1]["content"][0]
    assert tool_result["is_error"] is True and "No such fact" in json.dumps(tool_result)
    assert facts_of(bob) == ["Keeps a diary in the top drawer"]

    wire.play(Reply.use_tools(("recall_facts", {"query": "tea"})), Reply.say("Oat milk."))
    ann.client.post("/api/chat", json={"message": "How do I take tea?"}, headers=ann.auth)
    found = json.dumps(wire.requests[-1]["messages"][-1]["content"][0])
    assert "oat milk" in found and "diary" not in found


def _rows_of(dsn: str, user_id: uuid.UUID) -> dict[str, int]:
    async def count(conn: asyncpg.Connection) -> dict[str, int]:
        return {
            table: await conn.fetchval(
                f"SELECT count(*) FROM butler.{table} WHERE user_id = $1", user_id
            )
            for table in ("user_facts", "conversation_history", "tool_usage", "voice_turns")
        }

    return run(count, dsn)


def test_forget_everything_leaves_nothing_of_the_person(
    chat_url: str, dsn: str, chat_account: Account, wire: AnthropicWire
) -> None:
    ann, bob = chat_account, register(chat_url, dsn)
    for account in (ann, bob):
        add(account, "Lives near the river")
        wire.play(Reply.use_tools(("current_time", {})), Reply.say("It is noon."))
        account.client.post("/api/chat", json={"message": "What time is it?"}, headers=account.auth)
    assert all(
        _rows_of(dsn, ann.id)[t] > 0 for t in ("user_facts", "conversation_history", "tool_usage")
    )

    response = ann.client.delete("/api/memory", headers=ann.auth)
    assert response.status_code == 200
    assert response.json()["deleted"]["user_facts"] == 1
    assert set(_rows_of(dsn, ann.id).values()) == {0}
    assert facts_of(ann) == []
    assert ann.client.get("/api/chat/history", headers=ann.auth).json()["messages"] == []
    assert _rows_of(dsn, bob.id)["user_facts"] == 1  # nobody else forgot anything
    assert _rows_of(dsn, bob.id)["conversation_history"] == 2


def test_a_fact_in_the_first_person_is_read_as_the_persons_own_words(
    chat_account: Account, wire: AnthropicWire
) -> None:
    add(chat_account, "I am allergic to peanuts")
    chat_account.client.post(
        "/api/chat", json={"message": "Can I eat peanuts?"}, headers=chat_account.auth
    )
    system = "\n".join(block["text"] for block in wire.requests[-1]["system"])
    name = chat_account.user["display_name"]
    heading = f"What you remember about {name} (in notes that say I, me or my, {name} is"
    assert heading in system
    assert system.index(heading) < system.index("- I am allergic to peanuts")
