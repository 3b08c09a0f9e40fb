"""Limits on a request's head (its request line and headers) that uvicorn lacks: at
most `max_head_bytes`, arriving within `head_timeout` seconds of its first byte (or of
the connection opening). A client that sends one huge header gets 431; one that
trickles a header line now and then gets 408 and is disconnected; a connection that
says nothing in that time is closed. Without this, each holds a connection (and
memory) for ever, whether or not a reverse proxy stands in front.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class HeadLimits:
    max_head_bytes: int = 32 * 1024
    head_timeout: float = 10.0


def guard(config: uvicorn.Config, limits: HeadLimits) -> uvicorn.Config:
    """Serve `config` with the guarded protocol (the limits travel with the config to
    worker processes)."""
    config.http = GuardedHttpToolsProtocol
    config.butler_head_limits = limits  # type: ignore[attr-defined]
    return config


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._limits: HeadLimits = getattr(self.config, "butler_head_limits", HeadLimits())
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._start_head()

    def _start_head(self) -> None:
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self._limits.head_timeout, self._head_too_slow)

    def _end_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _waiting_for_a_request(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._waiting_for_a_request():
            self._start_head()  # a keep-alive connection's next request begins
        reading_head = self._head_timer is not None
        if reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still no end of the head (a chunk may also carry the body after it): too big?
        still_reading = reading_head and self._head_timer is not None
        if still_reading and self._head_bytes > self._limits.max_head_bytes:
            self._end_head()
            self._refuse(
                431, "Request Header Fields Too Large", "The request's headers are too large."
            )

    def on_headers_complete(self) -> None:
        self._end_head()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        super().connection_lost(exc)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self._waiting_for_a_request() or self.transport.is_closing():
            return
        if self._head_bytes == 0:
            # Nothing asked (a browser's spare connection): closed quietly, as nginx does.
            self.transport.close()
        else:
            self._refuse(408, "Request Timeout", "The request's headers took too long to arrive.")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        code = "headers_too_large" if status == 431 else "headers_timeout"
        body = json.dumps({"error": code, "message": message}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()
