"""Meta's webhook read without a server: signatures over the raw bytes, the
subscription challenge, and what a payload holds."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from butler.channels.whatsapp import webhook
from butler.channels.whatsapp.links import whatsapp_id
from butler.errors import InvalidInput, NotAuthenticated

SECRET = "app-secret"
NUMBER_ID = "1065"


def signed(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def body(*changes: dict[str, object], entries: int = 1) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": f"W{n}", "changes": list(changes)} for n in range(entries)],
        }
    ).encode()


def change(
    messages: list[dict[str, object]],
    statuses: list[dict[str, object]] | None = None,
    number_id: str = NUMBER_ID,
) -> dict[str, object]:
    return {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": number_id},
            "messages": messages,
            "statuses": statuses or [],
        },
    }


def text(sender: str, message_id: str, words: str = "hi") -> dict[str, object]:
    return {"from": sender, "id": message_id, "type": "text", "text": {"body": words}}


def test_the_signature_is_over_the_exact_bytes() -> None:
    raw = b'{"a": 1,  "b":"\\u00e9"}'
    webhook.check_signature(raw, signed(raw), SECRET)
    webhook.check_signature(raw, signed(raw).upper().replace("SHA256=", "sha256="), SECRET)
    reserialised = json.dumps(json.loads(raw)).encode()
    with pytest.raises(NotAuthenticated):
        webhook.check_signature(reserialised, signed(raw), SECRET)
    for bad in (None, "", "sha1=abc", signed(raw, "other"), "sha256=zz", signed(raw)[:-2]):
        with pytest.raises(NotAuthenticated):
            webhook.check_signature(raw, bad, SECRET)


def test_the_challenge_needs_the_verify_token() -> None:
    assert webhook.answer_challenge("subscribe", "tok", "12345", "tok") == "12345"
    with pytest.raises(NotAuthenticated):
        webhook.answer_challenge("subscribe", "nope", "12345", "tok")
    with pytest.raises(NotAuthenticated):
        webhook.answer_challenge("subscribe", None, "12345", "tok")
    with pytest.raises(InvalidInput):
        webhook.answer_challenge("unsubscribe", "tok", "12345", "tok")
    with pytest.raises(InvalidInput):
        webhook.answer_challenge("subscribe", "tok", None, "tok")


def test_every_entry_change_and_message_is_read() -> None:
    raw = body(
        change([text("447700900001", "a"), text("447700900002", "b")]),
        change([text("447700900003", "c")]),
        entries=2,
    )
    ids = [m.message_id for m in webhook.parse(raw, NUMBER_ID).messages]
    assert ids == ["a", "b", "c", "a", "b", "c"]


def test_what_butler_does_not_answer_is_skipped() -> None:
    raw = body(
        change([{**text("447700900001", "g"), "group_id": "1203"}]),
        change([text("447700900001", "x")], number_id="9999"),
        change([{"from": "447700900001", "id": "r", "type": "reaction", "reaction": {}}]),
        change([{"from": "not-a-number", "id": "n", "type": "text"}]),
        change([{"id": "missing-sender", "type": "text"}]),
        {"field": "account_update", "value": {"metadata": {"phone_number_id": NUMBER_ID}}},
    )
    assert webhook.parse(raw, NUMBER_ID).messages == []
    kept = webhook.parse(body(change([{"from": "4477", "id": "s", "type": "sticker"}])), NUMBER_ID)
    assert [m.kind for m in kept.messages] == ["sticker"]  # answered with "I can't read that"


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"x"',
        b'{"object": "page"}',
        b'{"object": "whatsapp_business_account", "entry": 5}',
        b'{"object": "whatsapp_business_account",'
        b' "entry": [{"changes": [null, 3, {"value": []}]}]}',
    ],
)
def test_odd_payloads_hold_nothing(raw: bytes) -> None:
    parsed = webhook.parse(raw, NUMBER_ID)
    assert parsed.messages == [] and parsed.statuses == []


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInput):
        webhook.parse(b"\xff\xfe{", NUMBER_ID)


def test_statuses_carry_their_failure_reason() -> None:
    raw = body(
        change(
            [],
            [
                {"id": "m1", "status": "delivered"},
                {
                    "id": "m2",
                    "status": "failed",
                    "errors": [
                        {
                            "code": 131047,
                            "title": "Re-engagement message",
                            "error_data": {"details": "More than 24 hours have passed"},
                        }
                    ],
                },
                {"id": "m3", "status": "deleted"},
            ],
        )
    )
    statuses = webhook.parse(raw, NUMBER_ID).statuses
    assert [(s.message_id, s.status) for s in statuses] == [("m1", "delivered"), ("m2", "failed")]
    assert statuses[1].detail == "code 131047: More than 24 hours have passed"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+447700900123", "447700900123"),
        ("+44 7700 900123", "447700900123"),
        ("+1 (555) 010-9999", "15550109999"),
    ],
)
def test_numbers_are_taken_in_international_form(given: str, expected: str) -> None:
    assert whatsapp_id(given) == expected


@pytest.mark.parametrize(
    "given", ["07700900123", "+0447700900", "+44", "+4477009001234567", "+44abc"]
)
def test_other_numbers_are_refused(given: str) -> None:
    with pytest.raises(InvalidInput):
        whatsapp_id(given)
