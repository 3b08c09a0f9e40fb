"""Gives each request an id for the logs (butler.logs) and answers it in X-Request-ID:
the caller's own id when it sends a sane one (a proxy's, to follow a request across
both logs), a fresh one otherwise."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from butler.logs import PERSON_ID, REQUEST_ID, SESSION_ID

HEADER = "x-request-id"
_HEADER_KEY = HEADER.encode()
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # never a place to smuggle log lines


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next(
            (
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name == HEADER.encode()
            ),
            "",
        )
        request_id = offered if _SANE.match(offered) else uuid.uuid4().hex
        tokens = (REQUEST_ID.set(request_id), PERSON_ID.set(None), SESSION_ID.set(None))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            REQUEST_ID.reset(tokens[0])
            PERSON_ID.reset(tokens[1])
            SESSION_ID.reset(tokens[2])
