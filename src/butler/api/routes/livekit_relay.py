"""The embedded LiveKit server's signalling, relayed through Butler's own origin.

Browsers reach the embedded server at `<Butler's address>/livekit` rather than at its
own port: one address and one certificate serve the app, the API and voice (a phone on
the home network needs HTTPS for the microphone, and a second TLS endpoint would need
its own certificate and trust), and the server's signalling port stays on 127.0.0.1.
Only signalling passes here; the audio goes directly between the browser and the
server's media ports.

The LiveKit client asks `<url>/rtc/v1` (then `<url>/rtc`) over WebSocket, and after a
refused connection `<.../rtc[/v1]>/validate` over HTTP for the reason; nothing else is
relayed. The room token rides in the query string (browsers) or the Authorization header
(the Rust SDK); both are passed on, and uvicorn would log the query: see
`redact_tokens`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import httpx
from fastapi import APIRouter, Request, Response, WebSocket
from starlette.datastructures import Headers
from starlette.websockets import WebSocketDisconnect
from websockets import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.asyncio.client import ClientConnection, connect

from butler.api.deps import Services, ServicesDep
from butler.config import LiveKitSettings
from butler.errors import NotFound, Unavailable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/livekit", include_in_schema=False)

SIGNAL_PATHS = ("rtc", "rtc/v1")
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # signalling carries SDP, never media
POLICY_VIOLATION = 1008  # the WebSocket close code for "refused"
TRY_AGAIN_LATER = 1013


def _embedded(services: Services) -> LiveKitSettings:
    settings = services.livekit.settings
    if not settings.embedded:
        raise NotFound("This Butler's voice server is not relayed here.")
    return settings


@router.websocket("/{path:path}")
async def relay_signalling(websocket: WebSocket, path: str) -> None:
    services: Services = websocket.app.state.services
    settings = services.livekit.settings
    if not settings.embedded or path not in SIGNAL_PATHS:
        await websocket.close(code=POLICY_VIOLATION)
        return
    target = f"{settings.server_url}/{path}?{websocket.url.query}"
    try:
        upstream = await connect(
            target,
            additional_headers=_credentials(websocket.headers),
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=10,
            proxy=None,
            compression=None,
        )
    except InvalidStatus:
        # The server refused (a bad or expired token): refuse the browser likewise; it
        # then asks `validate` for the reason.
        await websocket.close(code=POLICY_VIOLATION)
        return
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        log.warning("the voice server cannot be reached for signalling: %s", type(exc).__name__)
        await websocket.close(code=TRY_AGAIN_LATER)
        return
    await websocket.accept()
    async with upstream:
        await _pump(websocket, upstream)


async def _pump(browser: WebSocket, server: ClientConnection) -> None:
    """Copy messages both ways until one side closes; then close the other with the
    same code, so the client sees the server's reason (a room closed, a duplicate)."""

    async def from_browser() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await browser.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                await server.send(data if data is not None else message.get("text") or "")

    async def from_server() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in server:
                if isinstance(data, bytes):
                    await browser.send_bytes(data)
                else:
                    await browser.send_text(data)

    tasks = [asyncio.create_task(from_browser()), asyncio.create_task(from_server())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        code = server.close_code or 1000
        await server.close()
        with contextlib.suppress(RuntimeError):  # the browser already went
            await browser.close(code=code if code != 1006 else 1011)


@router.get("/{path:path}")
async def relay_validation(path: str, request: Request, services: ServicesDep) -> Response:
    """LiveKit's answer to "why was my connection refused?" (an expired token, ...)."""
    settings = _embedded(services)
    if path not in {f"{p}/validate" for p in SIGNAL_PATHS}:
        raise NotFound("There is nothing here.")
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        try:
            answer = await client.get(
                f"{settings.http_url}/{path}",
                params=request.query_params,
                headers=_credentials(request.headers),
            )
        except httpx.HTTPError:
            raise Unavailable(
                "The voice server is not answering right now. Try again in a moment.",
                code="voice_unavailable",
            ) from None
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "text/plain"),
    )


def _credentials(headers: Headers) -> dict[str, str]:
    """The room token, when a client sends it as a header (the Rust SDK) rather than
    in the query (the browser's)."""
    token = headers.get("authorization")
    return {"Authorization": token} if token else {}


# The token, and the join request (the offer's SDP, with its ICE credentials).
_TOKEN = re.compile(r"((?:access_token|join_request)=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Hide room tokens and join requests in logged URLs (uvicorn logs a WebSocket's
    path and query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _redacted(record.msg)
        return True


def _redacted(text: str) -> str:
    return _TOKEN.sub(r"\1<redacted>", text) if "access_token=" in text else text


def redact_tokens() -> None:
    """Install the filter on uvicorn's loggers (call once per process)."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
