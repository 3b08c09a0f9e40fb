"""Web Push: the server's VAPID key, the browsers' subscriptions, and sending.

Payloads are encrypted for the subscription's keys as RFC 8291 asks (aes128gcm, by
pywebpush's encoder) and signed with VAPID (RFC 8292); the request itself goes out with
httpx, with Butler's own timeout. A subscription the push service calls gone (404,
410) is deleted.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import asyncpg
import httpx
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException

from butler.errors import InvalidInput

log = logging.getLogger(__name__)

KEY_FILE = "vapid-private.pem"
SEND_TIMEOUT = 10.0


def load_vapid(data_dir: Path, configured: str | None) -> Vapid02:
    """The configured key, else the data folder's, made once (readable by the owner
    only): a browser's subscription is tied to the key it was made with."""
    if configured:
        text = configured.strip()
        if text.startswith("-----BEGIN"):
            return Vapid02.from_pem(text.encode())
        return Vapid02.from_raw(text.encode())
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        vapid = Vapid02()
        vapid.generate_keys()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(vapid.private_pem())
    return Vapid02.from_file(str(path))


def public_key(vapid: Vapid02) -> str:
    """The key browsers pass as `applicationServerKey`: base64url, unpadded."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    server_key: str  # the VAPID public key the browser subscribed with


def check_keys(p256dh: str, auth: str) -> None:
    """InvalidInput unless the keys are what a browser's PushSubscription holds."""
    try:
        WebPusher({"endpoint": "https://push.invalid/", "keys": {"p256dh": p256dh, "auth": auth}})
        point = _unpadded(p256dh)
        secret = _unpadded(auth)
    except (WebPushException, ValueError) as exc:
        raise InvalidInput("keys.p256dh and keys.auth must be base64url keys") from exc
    if len(point) != 65 or point[0] != 4:
        raise InvalidInput("keys.p256dh must be an uncompressed P-256 public key")
    if len(secret) != 16:
        raise InvalidInput("keys.auth must be 16 bytes")


def _unpadded(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class PushSubscriptions:
    async def add(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        endpoint: str,
        p256dh: str,
        auth: str,
        server_key: str,
    ) -> bool:
        """Store a browser's subscription for this person; True when it is new. The same
        endpoint subscribed again (new keys, or another person signed in on that
        browser) is replaced: an endpoint reaches one browser, which shows one person's."""
        created = await conn.fetchval(
            """INSERT INTO butler.push_subscriptions
                 (id, user_id, endpoint, p256dh, auth, server_key)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (endpoint) DO UPDATE
                 SET user_id = excluded.user_id, p256dh = excluded.p256dh,
                     auth = excluded.auth, server_key = excluded.server_key
               RETURNING (xmax = 0)""",
            uuid.uuid4(),
            user_id,
            endpoint,
            p256dh,
            auth,
            server_key,
        )
        return bool(created)

    async def remove(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, endpoint: str | None
    ) -> int:
        """Remove one of the person's subscriptions, or with no endpoint all of them."""
        removed = await conn.fetch(
            """DELETE FROM butler.push_subscriptions
               WHERE user_id = $1 AND ($2::text IS NULL OR endpoint = $2) RETURNING id""",
            user_id,
            endpoint,
        )
        return len(removed)

    async def of_user(self, conn: asyncpg.Connection, user_id: uuid.UUID) -> list[Subscription]:
        rows = await conn.fetch(
            """SELECT id, endpoint, p256dh, auth, server_key FROM butler.push_subscriptions
               WHERE user_id = $1""",
            user_id,
        )
        return [
            Subscription(r["id"], r["endpoint"], r["p256dh"], r["auth"], r["server_key"])
            for r in rows
        ]

    async def forget(self, conn: asyncpg.Connection, subscription: Subscription) -> None:
        await conn.execute("DELETE FROM butler.push_subscriptions WHERE id = $1", subscription.id)

    async def sent(self, conn: asyncpg.Connection, subscription: Subscription) -> None:
        await conn.execute(
            "UPDATE butler.push_subscriptions SET last_sent_at = now() WHERE id = $1",
            subscription.id,
        )


Outcome = Literal["sent", "gone", "retry", "refused"]


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    detail: str


class PushSender:
    def __init__(
        self, vapid: Vapid02, subject: str, ttl_seconds: int, client: httpx.AsyncClient
    ) -> None:
        self._vapid = vapid
        self.public_key = public_key(vapid)
        self._subject = subject
        self._ttl = ttl_seconds
        self._client = client

    async def send(
        self, subscription: Subscription, payload: dict[str, Any], *, topic: str | None = None
    ) -> PushResult:
        """`topic` (RFC 8030, up to 32 base64url characters): a repeat of one notification
        replaces the first while it still waits at the push service."""
        data = json.dumps(payload).encode()
        keys = {"p256dh": subscription.p256dh, "auth": subscription.auth}
        body = WebPusher({"endpoint": subscription.endpoint, "keys": keys}).encode(data)["body"]
        headers = {
            "TTL": str(self._ttl),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": "high",
            **self._vapid.sign(self._claims(subscription.endpoint)),
        }
        if topic:
            headers["Topic"] = topic
        try:
            response = await self._client.post(
                subscription.endpoint, content=body, headers=headers, timeout=SEND_TIMEOUT
            )
        except httpx.HTTPError as exc:
            return PushResult("retry", f"push service unreachable: {type(exc).__name__}")
        status = response.status_code
        if status in (200, 201, 202, 204):
            return PushResult("sent", str(status))
        if status in (404, 410):
            return PushResult("gone", f"subscription gone ({status})")
        if status == 429 or status >= 500:
            return PushResult("retry", f"push service answered {status}")
        return PushResult("refused", f"push service refused it ({status})")

    def _claims(self, endpoint: str) -> dict[str, str | int]:
        # A fresh dict every time: the audience is the endpoint's own origin.
        parts = urlsplit(endpoint)
        return {
            "sub": self._subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 12 * 3600,
        }
