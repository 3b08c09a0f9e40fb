"""Meta's side of WhatsApp on 127.0.0.1: the Graph API endpoints Butler calls (send a
message, mark read, media URL and download, media upload), and webhooks signed as Meta
signs them, to post to Butler."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.wire import serving

VERSION = "v24.0"
PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAtest-access-token"
APP_SECRET = "test-app-secret-0123456789abcdef"
VERIFY_TOKEN = "test-verify-token"
DISPLAY_NUMBER = "+1 555-000-1111"
WEBHOOK = "/api/channels/whatsapp/webhook"


@dataclass
class Sent:
    """A message Butler sent (or a read receipt), as the Graph API received it."""

    id: str
    body: dict[str, Any]

    @property
    def to(self) -> str:
        return str(self.body.get("to", ""))

    @property
    def text(self) -> str:
        return str((self.body.get("text") or {}).get("body", ""))


@dataclass
class FakeWhatsAppCloud:
    sent: list[Sent] = field(default_factory=list)
    reads: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[bytes, str]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # Answers for the next message sends, instead of accepting them: (status, Meta code).
    failures: list[tuple[int, int]] = field(default_factory=list)
    base_url: str = ""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/{VERSION}"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """BUTLER_WHATSAPP__* for a Butler that talks to this fake."""
        return {
            "access_token": ACCESS_TOKEN,
            "phone_number_id": PHONE_NUMBER_ID,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "api_base_url": self.api_base_url,
            "poll_seconds": 0.2,
            **overrides,
        }

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.reads.clear()
            self.uploads.clear()
            self.failures.clear()

    def add_media(self, data: bytes, mime_type: str) -> str:
        media_id = str(900_000_000 + next(self._ids))
        self.media[media_id] = (data, mime_type)
        return media_id

    def sent_to(self, number: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.to == number]

    def wait_for_sent(self, number: str, count: int = 1, timeout: float = 20) -> list[Sent]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent_to(number)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{len(self.sent_to(number))} messages to {number}, not {count}")

    # --- the Graph API --------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}"

    @staticmethod
    def _error(status: int, code: int, message: str) -> JSONResponse:
        return JSONResponse(
            {
                "error": {
                    "message": message,
                    "type": "OAuthException",
                    "code": code,
                    "error_data": {"messaging_product": "whatsapp", "details": message},
                    "fbtrace_id": "Atest",
                }
            },
            status_code=status,
        )

    async def _messages(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, 190, "Invalid OAuth access token.")
        if request.path_params["number_id"] != PHONE_NUMBER_ID:
            return self._error(400, 100, "Unsupported post request.")
        body = await request.json()
        if body.get("messaging_product") != "whatsapp":
            return self._error(400, 100, "The parameter messaging_product is required.")
        if body.get("status") == "read":
            with self._lock:
                self.reads.append(body)
            return JSONResponse({"success": True})
        with self._lock:
            if self.failures:
                status, code = self.failures.pop(0)
                return self._error(status, code, f"Scripted failure {code}")
            message_id = f"wamid.OUT{next(self._ids):06d}"
            self.sent.append(Sent(message_id, body))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": message_id}],
            }
        )

    async def _upload(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, 190, "Invalid OAuth access token.")
        form = await request.form()
        upload = form.get("file")
        if form.get("messaging_product") != "whatsapp" or upload is None or isinstance(upload, str):
            return self._error(400, 100, "file and messaging_product are required")
        data = await upload.read()
        mime = str(form.get("type") or "")
        with self._lock:
            self.uploads.append((data, mime))
        return JSONResponse({"id": self.add_media(data, mime)})

    async def _node(self, request: Request) -> Response:
        """GET /{id}: the business number (what `butler doctor` asks), or a media URL."""
        if not self._authorised(request):
            return self._error(401, 190, "Invalid OAuth access token.")
        if request.path_params["media_id"] == PHONE_NUMBER_ID:
            return JSONResponse(
                {
                    "display_phone_number": DISPLAY_NUMBER,
                    "verified_name": "Butler",
                    "id": PHONE_NUMBER_ID,
                }
            )
        media_id = request.path_params["media_id"]
        if media_id not in self.media:
            return self._error(404, 100, "Unsupported get request.")
        data, mime = self.media[media_id]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/download/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _download(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        data, mime = self.media[request.path_params["media_id"]]
        return Response(data, media_type=mime)

    @contextmanager
    def running(self) -> Iterator[FakeWhatsAppCloud]:
        app = Starlette(
            routes=[
                Route(f"/{VERSION}/{{number_id}}/messages", self._messages, methods=["POST"]),
                Route(f"/{VERSION}/{{number_id}}/media", self._upload, methods=["POST"]),
                Route(f"/{VERSION}/{{media_id}}", self._node, methods=["GET"]),
                Route("/download/{media_id}", self._download, methods=["GET"]),
            ]
        )
        with serving(app) as url:
            self.base_url = url
            yield self


# --- webhooks, as Meta sends them ---------------------------------------------------------

_message_ids = itertools.count(1)


def message_id() -> str:
    return f"wamid.IN{time.time_ns()}{next(_message_ids)}"


def text_message(
    sender: str, text: str, *, id: str | None = None, reply_to: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "from": sender,
        "id": id or message_id(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    if reply_to:
        message["context"] = {"from": PHONE_NUMBER_ID, "id": reply_to}
    return message


def voice_message(sender: str, media_id: str, *, id: str | None = None) -> dict[str, Any]:
    return {
        "from": sender,
        "id": id or message_id(),
        "timestamp": str(int(time.time())),
        "type": "audio",
        "audio": {"id": media_id, "mime_type": "audio/ogg; codecs=opus", "voice": True},
    }


def image_message(
    sender: str, media_id: str, caption: str, *, id: str | None = None
) -> dict[str, Any]:
    return {
        "from": sender,
        "id": id or message_id(),
        "timestamp": str(int(time.time())),
        "type": "image",
        "image": {"id": media_id, "mime_type": "image/png", "caption": caption},
    }


def payload(
    *messages: dict[str, Any],
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Someone"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}],
    }


def status(message_id: str, state: str, *, error: tuple[int, str] | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "id": message_id,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": "447700900123",
    }
    if error:
        update["errors"] = [
            {"code": error[0], "title": error[1], "error_data": {"details": error[1]}}
        ]
    return update


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    butler_url: str,
    body: dict[str, Any],
    *,
    secret: str = APP_SECRET,
    signature: str | None = None,
    unsigned: bool = False,
) -> httpx.Response:
    """POST a webhook to Butler as Meta does: compact JSON, signed over those bytes."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if not unsigned:
        headers["X-Hub-Signature-256"] = signature or sign(raw, secret)
    return httpx.post(f"{butler_url}{WEBHOOK}", content=raw, headers=headers, timeout=10)
