"""Meta's webhook, without a web framework: the signature over the raw body, the
subscription challenge, and the messages and statuses a payload carries.

A payload may hold several entries, each with several changes, each with several
messages and statuses: all are read. Anything Butler does not handle (group messages,
another business number's traffic, unknown fields) is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from butler.errors import InvalidInput, NotAuthenticated

# Kinds Butler answers; anything else gets a short "I can't read that" reply.
ANSWERED_KINDS = {"text", "audio", "image"}
IGNORED_KINDS = {"reaction", "system", "ephemeral", "unsupported", "request_welcome", "errors"}
STATUS_ORDER = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


def check_signature(raw_body: bytes, header: str | None, app_secret: str) -> None:
    """NotAuthenticated unless `header` is `sha256=` + HMAC-SHA256 of the exact bytes
    received (never of re-serialised JSON) under the app secret."""
    if not header or not header.startswith("sha256="):
        raise NotAuthenticated("missing X-Hub-Signature-256", code="bad_signature")
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower()):
        raise NotAuthenticated("X-Hub-Signature-256 does not match the body", code="bad_signature")


def answer_challenge(
    mode: str | None, token: str | None, challenge: str | None, verify: str
) -> str:
    """The challenge to echo when Meta subscribes the webhook with our verify token."""
    if mode != "subscribe" or not challenge:
        raise InvalidInput("expected hub.mode=subscribe and a hub.challenge")
    if token is None or not hmac.compare_digest(token.encode(), verify.encode()):
        raise NotAuthenticated("hub.verify_token does not match", code="bad_verify_token")
    if len(challenge) > 200:
        raise InvalidInput("hub.challenge is too long")
    return challenge


@dataclass(frozen=True)
class Inbound:
    message_id: str
    phone_number: str  # the sender's WhatsApp id: E.164 digits without '+'
    kind: str
    message: dict[str, Any]


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str
    status: str
    detail: str | None


@dataclass
class Payload:
    messages: list[Inbound] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def parse(raw_body: bytes, phone_number_id: str) -> Payload:
    """What a (signed) payload says for our business number."""
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("the webhook body is not JSON") from exc
    payload = Payload()
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        return payload
    for entry in _dicts(body.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata") or {}
            if str(metadata.get("phone_number_id", "")) != phone_number_id:
                continue  # another number on the same Meta app
            payload.messages += [m for m in map(_inbound, _dicts(value.get("messages"))) if m]
            payload.statuses += [s for s in map(_status, _dicts(value.get("statuses"))) if s]
    return payload


def _inbound(message: dict[str, Any]) -> Inbound | None:
    message_id, sender, kind = message.get("id"), message.get("from"), message.get("type")
    if not (isinstance(message_id, str) and isinstance(sender, str) and isinstance(kind, str)):
        return None
    if message.get("group_id") or not sender.isdigit() or kind in IGNORED_KINDS:
        return None  # group chats, and what needs no answer
    if not 0 < len(message_id) <= 200 or len(sender) > 20:
        return None
    return Inbound(message_id, sender, kind, message)


def _status(status: dict[str, Any]) -> StatusUpdate | None:
    message_id, state = status.get("id"), status.get("status")
    if not isinstance(message_id, str) or state not in STATUS_ORDER:
        return None
    detail = None
    errors = _dicts(status.get("errors"))
    if errors:
        first = errors[0]
        data = first.get("error_data") or {}
        detail = (
            f"code {first.get('code')}: "
            f"{(data.get('details') if isinstance(data, dict) else None) or first.get('title')}"
        )[:500]
    return StatusUpdate(message_id, str(state), detail)
