"""A push service on 127.0.0.1, as a browser vendor runs one: it takes the encrypted
POSTs that Web Push sends to a subscription's endpoint, and a test browser that holds
the subscription's private keys reads them, as a real browser would."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fakes.threaded_http import serving_http


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Browser:
    """One browser's push subscription: its endpoint and the keys only it holds."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    def subscription(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": _b64(public), "auth": _b64(self.auth_secret)},
        }

    def read(self, message: Received) -> dict[str, Any]:
        """Decrypt a pushed message as the browser does (RFC 8291, aes128gcm)."""
        assert message.headers.get("content-encoding") == "aes128gcm", message.headers
        plain = http_ece.decrypt(
            message.body,
            private_key=self.private_key,
            auth_secret=self.auth_secret,
            version="aes128gcm",
        )
        payload: dict[str, Any] = json.loads(plain)
        return payload


def vapid_claims(message: Received, application_server_key: str) -> dict[str, Any]:
    """The VAPID JWT's claims, verified against the server's public key (RFC 8292)."""
    scheme, _, params = message.headers["authorization"].partition(" ")
    assert scheme == "vapid", message.headers["authorization"]
    parts = dict(p.split("=", 1) for p in params.split(","))
    assert parts["k"] == application_server_key
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(parts["k"]))
    claims: dict[str, Any] = jwt.decode(
        parts["t"], key, algorithms=["ES256"], options={"verify_aud": False}
    )
    return claims


@dataclass
class FakePushService:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    # Paths answered with this status instead of 201 (410: the subscription is gone).
    answers: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def browser(self) -> Browser:
        name = _b64(os.urandom(9))
        return Browser(
            f"{self.url}/push/{name}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )

    def messages_for(self, browser: Browser) -> list[Received]:
        path = browser.endpoint.removeprefix(self.url)
        with self._lock:
            return [m for m in self.received if m.path == path]

    @contextmanager
    def running(self) -> Iterator[FakePushService]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with service._lock:
                    service.received.append(Received(self.path, headers, body))
                status = service.answers.get(self.path, 201)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        with serving_http(Handler) as url:
            self.url = url
            yield self
