"""The WhatsApp Cloud API (Meta's Graph API) as Butler uses it: send a message, mark one
read with a typing indicator, fetch and upload media.

Errors become WhatsAppError with `retryable` set by the error's family: throttling and
Meta's temporary failures are tried again with backoff here; an expired token, a
number outside the 24-hour window or a rejected message are not.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from butler.errors import ButlerError

log = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio; images are 5 MB
ATTEMPTS = 3
# Meta's codes that say "slow down" or "try later": https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
THROTTLED = {4, 80007, 130429, 131048, 131056}
TEMPORARY = {1, 2, 131000, 131016, 133004}
OUTSIDE_WINDOW = 131047  # more than 24 hours since the person last wrote
AUTH_FAILED = {0, 190, 10, 200}


class WhatsAppError(ButlerError):
    code = "whatsapp_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        meta_code: int | None = None,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.meta_code = meta_code
        # False: it never reached Meta (connection refused), so a send may be repeated.
        self.request_sent = request_sent

    @property
    def outside_window(self) -> bool:
        return self.meta_code == OUTSIDE_WINDOW


@dataclass(frozen=True)
class Media:
    data: bytes
    mime_type: str


def _error(response: httpx.Response) -> WhatsAppError:
    try:
        body = response.json().get("error") or {}
    except ValueError:
        body = {}
    code = body.get("code") if isinstance(body.get("code"), int) else None
    details = (body.get("error_data") or {}).get("details") if isinstance(body, dict) else None
    text = str(details or body.get("message") or response.reason_phrase or "no reason given")
    reason = f"WhatsApp answered {response.status_code}" + (f" (code {code})" if code else "")
    retryable = (
        response.status_code in (429, 500, 502, 503, 504) or code in THROTTLED or code in TEMPORARY
    ) and code not in AUTH_FAILED
    if code in AUTH_FAILED or response.status_code == 401:
        text += "; check BUTLER_WHATSAPP__ACCESS_TOKEN"
    return WhatsAppError(f"{reason}: {text[:300]}", retryable=retryable, meta_code=code)


def backoff(attempt: int) -> float:
    """1 s, 4 s: a throttled request waits, a dead service is not hammered."""
    return float(4 ** (attempt - 1))


class GraphClient:
    def __init__(
        self,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        *,
        timeout: float,
        client: httpx.AsyncClient | None = None,
        sleep: Any = asyncio.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._client = client or httpx.AsyncClient(timeout=timeout, trust_env=False)
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, url: str, *, safe: bool, **kwargs: Any) -> httpx.Response:
        """The request, tried again while its error is retryable. A request that is not
        `safe` to repeat (a message send) is tried again only when Meta refused it
        without acting (throttled) or it never got there."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self._client.request(method, url, headers=self._headers, **kwargs)
            except httpx.ConnectError as exc:
                error = WhatsAppError(
                    f"WhatsApp could not be reached: {exc}", retryable=True, request_sent=False
                )
            except httpx.HTTPError as exc:
                error = WhatsAppError(f"WhatsApp did not answer: {exc!r}", retryable=True)
            else:
                if response.status_code < 400:
                    return response
                error = _error(response)
            repeatable = error.retryable and (
                safe or not error.request_sent or error.meta_code in THROTTLED
            )
            if not repeatable or attempt == ATTEMPTS:
                raise error
            log.info("whatsapp: %s; trying again", error.message)
            await self._sleep(backoff(attempt))
        raise AssertionError("unreachable")

    async def send(self, to: str, message: dict[str, Any], *, reply_to: str | None = None) -> str:
        """Send `message` (its `type` and body, e.g. {"type": "text", "text": {...}});
        Meta's id for it."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            **message,
        }
        if reply_to:
            body["context"] = {"message_id": reply_to}
        response = await self._request(
            "POST", f"{self._base}/{self._number_id}/messages", safe=False, json=body
        )
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise WhatsAppError(
                "WhatsApp accepted a message without giving its id", retryable=False
            ) from exc

    async def send_text(self, to: str, text: str, *, reply_to: str | None = None) -> str:
        return await self.send(
            to, {"type": "text", "text": {"body": text, "preview_url": False}}, reply_to=reply_to
        )

    async def send_template(
        self, to: str, name: str, language: str, parameters: list[str], *, code_button: bool = False
    ) -> str:
        components: list[dict[str, Any]] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
        if code_button:  # an authentication template's copy-code button carries the code
            components.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": parameters[0]}],
                }
            )
        template = {"name": name, "language": {"code": language}, "components": components}
        return await self.send(to, {"type": "template", "template": template})

    async def send_voice_note(
        self, to: str, ogg_opus: bytes, *, reply_to: str | None = None
    ) -> str:
        upload = await self._request(
            "POST",
            f"{self._base}/{self._number_id}/media",
            safe=True,
            data={"messaging_product": "whatsapp", "type": "audio/ogg"},
            files={"file": ("reply.ogg", ogg_opus, "audio/ogg")},
        )
        media_id = str(upload.json().get("id") or "")
        if not media_id:
            raise WhatsAppError("WhatsApp did not return the uploaded audio's id", retryable=True)
        return await self.send(
            to, {"type": "audio", "audio": {"id": media_id, "voice": True}}, reply_to=reply_to
        )

    async def mark_read(self, message_id: str, *, typing: bool) -> None:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._request(
            "POST", f"{self._base}/{self._number_id}/messages", safe=True, json=body
        )

    async def number(self) -> str:
        """The business number as WhatsApp shows it (a check that the token and the
        phone number ID work, for `butler doctor`)."""
        response = await self._request(
            "GET",
            f"{self._base}/{self._number_id}",
            safe=True,
            params={"fields": "display_phone_number,verified_name"},
        )
        info = response.json()
        name = info.get("verified_name")
        return str(info.get("display_phone_number") or "?") + (f" ({name})" if name else "")

    async def download(self, media_id: str, *, max_bytes: int = MAX_MEDIA_BYTES) -> Media:
        """A received voice note's or image's bytes (the URL Meta gives is short-lived and
        needs the token too)."""
        if not media_id.isdigit():
            raise WhatsAppError("the message's media id is not one WhatsApp gives", retryable=False)
        info = (await self._request("GET", f"{self._base}/{media_id}", safe=True)).json()
        url, size = info.get("url"), info.get("file_size")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise WhatsAppError("WhatsApp gave no address for the media", retryable=False)
        if isinstance(size, int) and size > max_bytes:
            raise WhatsAppError(f"the media is too large ({size} bytes)", retryable=False)
        response = await self._request("GET", url, safe=True)
        if len(response.content) > max_bytes:
            raise WhatsAppError("the media is too large", retryable=False)
        mime = str(info.get("mime_type") or response.headers.get("content-type") or "")
        return Media(response.content, mime.split(";")[0].strip().lower())
