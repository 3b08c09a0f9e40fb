"""WhatsApp through the real API: Meta's side is a local server speaking the Graph API
endpoints Butler uses, and webhooks are signed as Meta signs them. The model is the
Anthropic wire stub; voice notes are espeak-ng speech encoded as OGG/Opus."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from butler.users.models import Role
from tests.fakes import whatsapp_cloud as meta
from tests.fakes.voice_notes import spoken_voice_note
from tests.fakes.whatsapp_cloud import FakeWhatsAppCloud
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import last_user_text, wait_for
from tests.integration.whatsapp_helpers import link, new_number
from tests.support import Account, claude_at, live_server, make_settings, register, run


@pytest.fixture(scope="module")
def cloud() -> Iterator[FakeWhatsAppCloud]:
    with FakeWhatsAppCloud().running() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(
    dsn: str,
    anthropic_wire: AnthropicWire,
    cloud: FakeWhatsAppCloud,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("whatsapp"),
        llm=claude_at(anthropic_wire.base_url),
        whatsapp=cloud.settings(display_number="+1 555 000 1111"),
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture(autouse=True)
def clean_cloud(cloud: FakeWhatsAppCloud) -> None:
    cloud.reset()


@pytest.fixture
def linked(server: str, dsn: str, cloud: FakeWhatsAppCloud) -> tuple[Account, str]:
    person = register(server, dsn)
    number = new_number()
    link(person, cloud, number)
    return person, number


def inbox_rows(dsn: str, message_id: str) -> list[dict[str, Any]]:
    async def fetch(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT * FROM butler.whatsapp_inbox WHERE message_id = $1", message_id
        )
        return [dict(r) for r in rows]

    return run(fetch, dsn)


def history(account: Account) -> list[dict[str, Any]]:
    page = account.client.get("/api/chat/history", headers=account.auth)
    assert page.status_code == 200, page.text
    return list(reversed(page.json()["messages"]))


# --- the webhook ----------------------------------------------------------------------


def test_meta_subscribes_with_the_verify_token(server: str) -> None:
    url = f"{server}{meta.WEBHOOK}"
    ok = httpx.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": meta.VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    assert ok.headers["x-content-type-options"] == "nosniff"
    wrong = httpx.get(
        url,
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
    )
    assert wrong.status_code == 401 and "1" not in wrong.text.split('"message"')[0]
    assert httpx.get(url).status_code == 422


def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    server: str,
    dsn: str,
    linked: tuple[Account, str],
    wire: AnthropicWire,
    cloud: FakeWhatsAppCloud,
) -> None:
    _, number = linked
    message = meta.text_message(number, "Did I leave the heating on?")
    body = meta.payload(message)
    forged = meta.deliver(server, body, secret="not-the-app-secret")
    assert forged.status_code == 401 and forged.json()["error"] == "bad_signature"
    assert meta.deliver(server, body, unsigned=True).status_code == 401
    assert meta.deliver(server, body, signature="sha256=" + "0" * 64).status_code == 401
    time.sleep(0.6)
    assert inbox_rows(dsn, message["id"]) == []
    assert wire.requests == [] and cloud.sent == []


def test_the_webhook_refuses_a_payload_that_is_not_json(server: str) -> None:
    raw = b"{not json"
    response = httpx.post(
        f"{server}{meta.WEBHOOK}", content=raw, headers={"X-Hub-Signature-256": meta.sign(raw)}
    )
    assert response.status_code == 422


# --- linking a number ---------------------------------------------------------------


def test_linking_a_number_with_the_code_sent_to_it(
    server: str, dsn: str, cloud: FakeWhatsAppCloud
) -> None:
    person = register(server, dsn)
    number = new_number()
    before = person.client.get("/api/users/me/whatsapp", headers=person.auth).json()
    assert before["available"] and before["phone_number"] is None
    assert before["business_number"] == "+1 555 000 1111"

    bad = person.client.post(
        "/api/users/me/whatsapp", json={"phone_number": "07700 900123"}, headers=person.auth
    )
    assert bad.status_code == 422 and "international" in bad.json()["message"]

    asked = person.client.post(
        "/api/users/me/whatsapp",
        json={"phone_number": f"+{number[:2]} {number[2:]}"},
        headers=person.auth,
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["pending"]["phone_number"] == f"+{number}"
    (message,) = cloud.wait_for_sent(number)
    code = re.search(r"\b(\d{6})\b", message.text)
    assert code
    again = person.client.post(
        "/api/users/me/whatsapp", json={"phone_number": f"+{number}"}, headers=person.auth
    )
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0

    wrong_code = f"{(int(code.group(1)) + 1) % 1_000_000:06d}"
    wrong = person.client.post(
        "/api/users/me/whatsapp/verify", json={"code": wrong_code}, headers=person.auth
    )
    assert wrong.status_code == 422 and "4 tries left" in wrong.json()["message"]
    right = person.client.post(
        "/api/users/me/whatsapp/verify", json={"code": code.group(1)}, headers=person.auth
    )
    assert right.status_code == 200, right.text
    assert right.json()["phone_number"] == f"+{number}" and right.json()["pending"] is None

    other = register(server, dsn)
    taken = other.client.post(
        "/api/users/me/whatsapp", json={"phone_number": f"+{number}"}, headers=other.auth
    )
    assert taken.status_code == 409

    gone = person.client.delete("/api/users/me/whatsapp", headers=person.auth)
    assert gone.status_code == 204
    assert (
        person.client.get("/api/users/me/whatsapp", headers=person.auth).json()["phone_number"]
        is None
    )


def test_a_code_allows_five_tries(server: str, dsn: str, cloud: FakeWhatsAppCloud) -> None:
    person = register(server, dsn)
    number = new_number()
    person.client.post(
        "/api/users/me/whatsapp", json={"phone_number": f"+{number}"}, headers=person.auth
    )
    (message,) = cloud.wait_for_sent(number)
    code = re.search(r"\b(\d{6})\b", message.text)
    assert code
    wrong = f"{(int(code.group(1)) + 7) % 1_000_000:06d}"
    answers = [
        person.client.post(
            "/api/users/me/whatsapp/verify", json={"code": wrong}, headers=person.auth
        ).json()["error"]
        for _ in range(5)
    ]
    assert answers == ["wrong_code"] * 4 + ["code_expired"]
    late = person.client.post(
        "/api/users/me/whatsapp/verify", json={"code": code.group(1)}, headers=person.auth
    )
    assert late.status_code == 422 and late.json()["error"] == "no_code"


def test_a_number_outside_the_24_hour_window_is_told_to_write_first(
    server: str, dsn: str, cloud: FakeWhatsAppCloud
) -> None:
    person = register(server, dsn)
    cloud.failures.append((400, 131047))  # Meta: more than 24 hours since they wrote
    refused = person.client.post(
        "/api/users/me/whatsapp", json={"phone_number": f"+{new_number()}"}, headers=person.auth
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "whatsapp_window_closed"
    status = person.client.get("/api/users/me/whatsapp", headers=person.auth).json()
    assert status["pending"] is None  # the code that never went out is dropped


# --- conversations ----------------------------------------------------------------------


def test_a_text_gets_a_reply_from_the_same_butler(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    person, number = linked
    wire.play(Reply.say("**No**, the heating is off. I checked the _thermostat_."))
    message = meta.text_message(number, "Did I leave the heating on?")
    received = meta.deliver(server, meta.payload(message))
    assert received.status_code == 200 and received.json() == {"stored": 1}

    (reply,) = cloud.wait_for_sent(number)
    assert reply.text == "*No*, the heating is off. I checked the _thermostat_."
    assert reply.body["context"] == {"message_id": message["id"]}
    assert any(
        r["message_id"] == message["id"] and r["typing_indicator"] == {"type": "text"}
        for r in cloud.reads
    )
    assert last_user_text(wire.requests[-1]) == "Did I leave the heating on?"
    turn = history(person)[-2:]
    assert [(m["role"], m["channel"]) for m in turn] == [
        ("user", "whatsapp"),
        ("assistant", "whatsapp"),
    ]
    assert turn[0]["content"] == "Did I leave the heating on?"


def test_whatsapp_and_the_app_share_one_history(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    person, number = linked
    wire.play(
        Reply.say("Noted: the spare key is under the blue pot."), Reply.say("Under the blue pot.")
    )
    said = person.client.post(
        "/api/chat", json={"message": "The spare key is under the blue pot"}, headers=person.auth
    )
    assert said.status_code == 200
    meta.deliver(server, meta.payload(meta.text_message(number, "Where is the spare key?")))
    cloud.wait_for_sent(number)
    context = wire.requests[-1]["messages"]
    assert "blue pot" in str(context[0]) and len(context) >= 3


def test_the_same_webhook_three_times_gives_one_turn_and_one_reply(
    server: str,
    dsn: str,
    linked: tuple[Account, str],
    wire: AnthropicWire,
    cloud: FakeWhatsAppCloud,
) -> None:
    person, number = linked
    wire.play(Reply.say("Lights off.", first_delay=0.5))
    body = meta.payload(meta.text_message(number, "Is the garage light off?"))
    stored = [meta.deliver(server, body).json()["stored"] for _ in range(3)]
    assert stored == [1, 0, 0]
    cloud.wait_for_sent(number)
    time.sleep(1.0)
    assert len(cloud.sent_to(number)) == 1
    assert len(wire.requests) == 1
    asked = [m for m in history(person) if m["content"] == "Is the garage light off?"]
    assert len(asked) == 1


def test_one_webhook_with_several_messages_answers_each_in_order(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    _, number = linked
    wire.answer({"first": Reply.say("One."), "second": Reply.say("Two.")})
    first, second = (meta.text_message(number, t) for t in ("first thing", "second thing"))
    meta.deliver(server, meta.payload(first, second))
    replies = cloud.wait_for_sent(number, 2)
    assert [r.text for r in replies] == ["One.", "Two."]
    assert [r.body["context"]["message_id"] for r in replies] == [first["id"], second["id"]]


def test_an_unlinked_number_gets_the_access_reply_once_and_never_the_model(
    server: str, dsn: str, wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    stranger = new_number()
    for text in ("Hello?", "Anyone there?", "Open the garage"):
        assert (
            meta.deliver(server, meta.payload(meta.text_message(stranger, text))).status_code == 200
        )
    (notice,) = cloud.wait_for_sent(stranger)
    assert "link this number" in notice.text
    time.sleep(1.0)
    assert len(cloud.sent_to(stranger)) == 1
    assert wire.requests == []
    assert cloud.reads == []  # not even read

    async def stored_text(conn: asyncpg.Connection) -> int:
        return int(
            await conn.fetchval(
                """SELECT count(*) FROM butler.whatsapp_inbox
               WHERE phone_number = $1 AND message::text LIKE '%garage%'""",
                stranger,
            )
        )

    assert run(stored_text, dsn) == 0  # a stranger's words are not kept


def test_group_messages_and_other_numbers_traffic_are_ignored(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    _, number = linked
    in_group = {**meta.text_message(number, "Hi all"), "group_id": "120363000000000001"}
    assert meta.deliver(server, meta.payload(in_group)).json() == {"stored": 0}
    elsewhere = meta.payload(meta.text_message(number, "Hi"), phone_number_id="999")
    assert meta.deliver(server, elsewhere).json() == {"stored": 0}
    time.sleep(0.6)
    assert cloud.sent == [] and wire.requests == []


def test_a_voice_note_is_transcribed_and_answered(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    person, number = linked
    wire.play(Reply.say("Turning on the kitchen lights."))
    media = cloud.add_media(spoken_voice_note("Please turn on the kitchen lights"), "audio/ogg")
    meta.deliver(server, meta.payload(meta.voice_message(number, media)))
    (reply,) = cloud.wait_for_sent(number, timeout=60)
    assert reply.text == "Turning on the kitchen lights."
    heard = last_user_text(wire.requests[-1]).lower()
    assert "kitchen" in heard and "light" in heard, heard
    asked = history(person)[-2]
    assert asked["channel"] == "whatsapp" and "kitchen" in asked["content"].lower()


def test_a_voice_note_can_be_answered_with_a_voice_note(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    person, number = linked
    chose = person.client.patch(
        "/api/users/me/whatsapp", json={"voice_replies": True}, headers=person.auth
    )
    assert chose.status_code == 200 and chose.json()["voice_replies"] is True
    wire.play(Reply.say("It is sunny today."))
    media = cloud.add_media(spoken_voice_note("What is the weather like"), "audio/ogg")
    meta.deliver(server, meta.payload(meta.voice_message(number, media)))
    (reply,) = cloud.wait_for_sent(number, timeout=60)
    assert reply.body["type"] == "audio" and reply.body["audio"]["voice"] is True
    data, mime = cloud.media[reply.body["audio"]["id"]]
    assert mime == "audio/ogg" and data.startswith(b"OggS")
    from butler.channels.whatsapp.voice_audio import decode_voice_note

    assert len(decode_voice_note(data)) > 16_000 * 0.5  # some speech, not a click


def test_a_photo_with_a_caption_is_shown_to_the_model(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    _, number = linked
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a7e0a50000000049454e44ae426082"
    )
    media = cloud.add_media(png, "image/png")
    wire.play(Reply.say("That is a very small picture."))
    meta.deliver(server, meta.payload(meta.image_message(number, media, "What is this?")))
    cloud.wait_for_sent(number)
    content = wire.requests[-1]["messages"][-1]["content"]
    (image,) = [block for block in content if block["type"] == "image"]
    assert image["source"]["media_type"] == "image/png"
    import base64

    assert base64.b64decode(image["source"]["data"]) == png
    assert "What is this?" in last_user_text(wire.requests[-1])


def test_a_reply_to_an_earlier_message_keeps_its_context(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    _, number = linked
    wire.play(Reply.say("Your dentist is on Tuesday at 3."), Reply.say("Moved to Wednesday."))
    meta.deliver(server, meta.payload(meta.text_message(number, "When is the dentist?")))
    (first,) = cloud.wait_for_sent(number)
    meta.deliver(
        server, meta.payload(meta.text_message(number, "Move it a day later", reply_to=first.id))
    )
    cloud.wait_for_sent(number, 2)
    asked = last_user_text(wire.requests[-1])
    assert 'Replying to: "Your dentist is on Tuesday at 3."' in asked
    assert asked.endswith("Move it a day later")


def test_a_long_reply_is_split_at_whatsapps_limit(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    _, number = linked
    paragraphs = [f"Paragraph {n}: " + "word " * 300 for n in range(6)]
    wire.play(Reply.say("\n\n".join(paragraphs)))
    meta.deliver(server, meta.payload(meta.text_message(number, "Tell me everything")))
    assert wait_for(lambda: len(cloud.sent_to(number)) >= 3, timeout=20)
    time.sleep(0.5)
    parts = cloud.sent_to(number)
    assert all(len(p.text) <= 4096 for p in parts)
    assert " ".join(p.text for p in parts).split() == "\n\n".join(paragraphs).split()
    assert "context" in parts[0].body and all("context" not in p.body for p in parts[1:])


def test_a_throttled_send_is_tried_again(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    _, number = linked
    cloud.failures.append((429, 130429))
    wire.play(Reply.say("Done."))
    meta.deliver(server, meta.payload(meta.text_message(number, "Ping")))
    (reply,) = cloud.wait_for_sent(number, timeout=20)
    assert reply.text == "Done."


def test_a_permanent_failure_is_shown_to_admins(
    server: str,
    dsn: str,
    linked: tuple[Account, str],
    wire: AnthropicWire,
    cloud: FakeWhatsAppCloud,
) -> None:
    _, number = linked
    admin = register(server, dsn, Role.ADMIN)
    member_view = linked[0].client.get("/api/admin/whatsapp", headers=linked[0].auth)
    assert member_view.status_code == 403
    cloud.failures.append((400, 131026))  # Meta: message undeliverable
    wire.play(Reply.say("Hello."))
    meta.deliver(server, meta.payload(meta.text_message(number, "Hi")))

    def problems() -> list[dict[str, Any]]:
        view = admin.client.get("/api/admin/whatsapp", headers=admin.auth)
        assert view.status_code == 200, view.text
        return [p for p in view.json()["problems"] if p["phone_number"] == number]

    assert wait_for(lambda: bool(problems()), timeout=10)
    assert "131026" in problems()[0]["detail"]
    (apology,) = cloud.wait_for_sent(number)  # not left waiting in silence
    assert apology.text.startswith("Sorry, I couldn't answer that message")
    cloud.reset()

    # A delivery status reporting failure, arriving after 'read' out of order, and the
    # reverse: only forward moves count, and the failure is shown.
    wire.play(Reply.say("Second try."))
    meta.deliver(server, meta.payload(meta.text_message(number, "Hi again")))
    (sent,) = cloud.wait_for_sent(number)
    meta.deliver(server, meta.payload(statuses=[meta.status(sent.id, "read")]))
    meta.deliver(server, meta.payload(statuses=[meta.status(sent.id, "delivered")]))

    async def state(conn: asyncpg.Connection) -> str:
        return str(
            await conn.fetchval(
                "SELECT status FROM butler.whatsapp_sent WHERE message_id = $1", sent.id
            )
        )

    assert run(state, dsn) == "read"
    meta.deliver(
        server,
        meta.payload(
            statuses=[meta.status(sent.id, "failed", error=(131050, "User stopped marketing"))]
        ),
    )
    assert wait_for(lambda: any("131050" in p["detail"] for p in problems()), timeout=5)


# --- reminders ---------------------------------------------------------------------------


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_a_reminder_reaches_whatsapp(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    person, number = linked
    wire.play(Reply.say("Hello!"))
    meta.deliver(server, meta.payload(meta.text_message(number, "Hi Butler")))  # window open
    cloud.wait_for_sent(number)
    made = person.client.post(
        "/api/reminders", json={"text": "Call mum", "due_at": soon(1.0)}, headers=person.auth
    )
    assert made.status_code == 201, made.text
    messages = cloud.wait_for_sent(number, 2, timeout=15)
    assert messages[1].text == "⏰ *Reminder*\nCall mum"
    time.sleep(1.0)
    assert len(cloud.sent_to(number)) == 2  # once


def test_a_number_gets_only_so_many_codes_a_day(
    server: str, dsn: str, cloud: FakeWhatsAppCloud
) -> None:
    """Anyone signed in may type any number: a stranger's phone is not spammed."""
    number = new_number()
    answers = []
    for _ in range(6):
        person = register(server, dsn)  # a new person each time: no 30-second wait
        answers.append(
            person.client.post(
                "/api/users/me/whatsapp", json={"phone_number": f"+{number}"}, headers=person.auth
            ).status_code
        )
    assert answers == [202] * 5 + [429]
    assert len(cloud.sent_to(number)) == 5


def test_a_slow_turn_does_not_hold_up_another_persons_message(
    server: str,
    dsn: str,
    linked: tuple[Account, str],
    wire: AnthropicWire,
    cloud: FakeWhatsAppCloud,
) -> None:
    _, slow_number = linked
    other = register(server, dsn)
    quick_number = new_number()
    link(other, cloud, quick_number)
    wire.answer(
        {
            "long question": Reply.say("A long answer, given slowly.", chunk_delay=0.5),
            "quick question": Reply.say("A quick answer."),
        }
    )
    meta.deliver(server, meta.payload(meta.text_message(slow_number, "A long question")))
    time.sleep(0.3)
    meta.deliver(server, meta.payload(meta.text_message(quick_number, "A quick question")))
    (quick,) = cloud.wait_for_sent(quick_number, timeout=10)
    assert quick.text == "A quick answer."
    assert cloud.sent_to(slow_number) == []  # still thinking
    (slow,) = cloud.wait_for_sent(slow_number, timeout=10)
    assert slow.text == "A long answer, given slowly."


def test_a_model_that_refuses_the_turn_is_explained_not_silent(
    server: str, linked: tuple[Account, str], wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> None:
    _, number = linked
    wire.play(Reply.fail(400, "invalid_request_error"))
    meta.deliver(server, meta.payload(meta.text_message(number, "Hello there")))
    (reply,) = cloud.wait_for_sent(number, timeout=10)
    assert reply.text.startswith("Sorry, I couldn't answer that")
