"""The voice worker's API: turns by voice-session credential, idempotent turn ids,
interruptions, and cross-channel context."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from butler.auth.tokens import TokenService
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import (
    stored,
    text_of,
    voice_stream,
    voice_worker,
    wait_for,
)
from tests.support import JWT_SECRET, Account, register


def test_a_text_turn_is_context_for_a_later_voice_turn(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(Reply.say("Noted, Miso it is."), Reply.say("Your cat is called Miso."))
    chat_account.client.post(
        "/api/chat", json={"message": "My cat is called Miso"}, headers=chat_account.auth
    )
    worker, room = voice_worker(chat_account)
    events = voice_stream(worker, {"transcript": "What is my cat called?", "session_id": room})
    assert text_of(events) == "Your cat is called Miso."
    assert events[-1][0] == "done"

    voice_request = wire.requests[-1]
    roles_and_text = [
        (m["role"], "".join(b.get("text", "") for b in m["content"]))
        for m in voice_request["messages"]
    ]
    assert roles_and_text == [
        ("user", "My cat is called Miso"),
        ("assistant", "Noted, Miso it is."),
        ("user", "What is my cat called?"),
    ]
    assert "speaking aloud" in voice_request["system"][0]["text"]
    assert "no markdown" in voice_request["system"][0]["text"]

    rows = stored(dsn, chat_account.id)
    assert [(r["channel"], r["role"]) for r in rows][-2:] == [
        ("voice", "user"),
        ("voice", "assistant"),
    ]
    assert rows[-1]["session_id"] == room
    assert rows[-1]["metadata"]["room"] == room


def test_process_returns_the_models_decision_to_end(
    chat_account: Account, wire: AnthropicWire
) -> None:
    wire.play(
        Reply.use_tools(("end_conversation", {}), text="Goodnight."),
        Reply.say(""),
    )
    worker, room = voice_worker(chat_account)
    response = worker.post(
        "/api/voice/process", json={"transcript": "That's all, goodnight", "session_id": room}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"] == "Goodnight."
    assert body["should_end_turn"] is True
    # A goodbye in the words alone is not enough: only the model's tool call ends it.
    wire.play(Reply.say("Goodbye is a lovely word."))
    again = worker.post("/api/voice/process", json={"transcript": "Say goodbye"}).json()
    assert again["should_end_turn"] is False


def test_the_user_comes_from_the_credential_never_the_body(
    chat_url: str, dsn: str, chat_account: Account, wire: AnthropicWire
) -> None:
    other = register(chat_url, dsn)
    worker, _ = voice_worker(chat_account)
    refused = worker.post(
        "/api/voice/process", json={"transcript": "Hi", "user_id": other.user["id"]}
    )
    assert refused.status_code == 422
    worker.post("/api/voice/process", json={"transcript": "Hi from voice"})
    assert stored(dsn, other.id) == []
    assert stored(dsn, chat_account.id)[-2]["content"] == "Hi from voice"


def _credential(account: Account, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": account.user["id"],
        "typ": "voice",
        "room": "butler-x",
        "iss": "butler",
        "aud": "butler-voice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "j",
    }
    claims.update(overrides)
    key = claims.pop("key", JWT_SECRET)
    return jwt.encode(claims, str(key), algorithm="HS256")


@pytest.mark.parametrize(
    "overrides",
    [
        {"key": "a-different-secret-" + "q" * 50},
        {"exp": int(time.time()) - 100},
        {"aud": "butler-api"},
        {"typ": "access"},
        {"room": ""},
        {"sub": "00000000-0000-0000-0000-000000000000"},
    ],
)
def test_forged_voice_credentials_are_refused(
    chat_url: str, chat_account: Account, overrides: dict[str, Any]
) -> None:
    token = _credential(chat_account, **overrides)
    response = httpx.post(
        f"{chat_url}/api/voice/process",
        json={"transcript": "Hi"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


def test_an_access_token_is_not_a_voice_credential(chat_url: str, chat_account: Account) -> None:
    response = httpx.post(
        f"{chat_url}/api/voice/stream", json={"transcript": "Hi"}, headers=chat_account.auth
    )
    assert response.status_code == 401
    signed_right = _credential(chat_account)
    assert (
        TokenService(JWT_SECRET, access_ttl_seconds=60, voice_ttl_seconds=60)
        .verify_voice(signed_right)
        .user_id
        == chat_account.id
    )


def test_preemptive_restarts_leave_one_copy_of_a_turn(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    worker, room = voice_worker(chat_account)
    body = {"transcript": "Lights off please", "session_id": room, "turn_id": "utt-1"}
    # First attempt: cancelled mid-stream, as when the user keeps talking.
    wire.play(Reply.say("Turning " * 100, chunk_delay=0.02))
    with worker.stream("POST", "/api/voice/stream", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("event: text_delta"):
                break
    assert wait_for(lambda: wire.disconnects == 1)
    # Second and third attempts complete (a retried request for the same utterance).
    wire.play(Reply.say("Lights are off."), Reply.say("The lights are off now."))
    voice_stream(worker, body)
    voice_stream(worker, body)
    rows = stored(dsn, chat_account.id)
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", "Lights off please"),
        ("assistant", "The lights are off now."),
    ]


def test_an_interrupted_reply_keeps_only_what_was_spoken(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    worker, room = voice_worker(chat_account)
    wire.play(Reply.say("The forecast is sunny all week. Take sunglasses."))
    voice_stream(worker, {"transcript": "Forecast?", "turn_id": "utt-2", "session_id": room})
    response = worker.post(
        "/api/voice/interrupted",
        json={
            "turn_id": "utt-2",
            "transcript": "Forecast?",
            "delivered_text": "The forecast is sunny",
            "session_id": room,
        },
    )
    assert response.status_code == 204
    reply = stored(dsn, chat_account.id)[-1]
    assert reply["content"] == "The forecast is sunny"
    assert reply["metadata"]["interrupted"] is True
    assert reply["metadata"]["generated_text"] == "The forecast is sunny all week. Take sunglasses."

    # A turn cut off before the API finished it is stored from what the worker says.
    response = worker.post(
        "/api/voice/interrupted",
        json={"turn_id": "utt-3", "transcript": "And tomorrow?", "delivered_text": "Tomorrow"},
    )
    assert response.status_code == 204
    rows = stored(dsn, chat_account.id)
    assert [(r["role"], r["content"]) for r in rows[-2:]] == [
        ("user", "And tomorrow?"),
        ("assistant", "Tomorrow"),
    ]
    assert rows[-1]["metadata"]["interrupted"] is True
