"""Security headers on every response: the app's strict Content Security Policy, no
framing, no content sniffing, no referrer beyond the origin.

The app's scripts and styles are files of its own origin (the Vite build has no inline
script), so `script-src 'self'` holds; inline style attributes (React's `style=`) need
'unsafe-inline' for styles only. The browser connects to Butler's own origin and, when
LiveKit is elsewhere, to that server (WebSocket signalling and its HTTP validation).
API answers are data, never a document: they get a policy that allows nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def livekit_origins(browser_url: str | None) -> list[str]:
    """The origins a browser reaches a LiveKit server at, from its ws(s):// or
    http(s):// address: both schemes, as the client validates over HTTP first."""
    if not browser_url:
        return []
    parts = urlsplit(browser_url)
    if not parts.netloc:
        return []
    secure = parts.scheme in ("wss", "https")
    return [
        f"{'wss' if secure else 'ws'}://{parts.netloc}",
        f"{'https' if secure else 'http'}://{parts.netloc}",
    ]


def app_policy(extra_connect: list[str]) -> str:
    connect = " ".join(["'self'", *extra_connect])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "media-src 'self' blob:",
            f"connect-src {connect}",
            "worker-src 'self' blob:",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, livekit_browser_url: str | None) -> None:
        self.app = app
        self._app_policy = app_policy(livekit_origins(livekit_browser_url)).encode()

    def _policy(self, path: str) -> bytes | None:
        if path.startswith("/api/") or path in ("/healthz", "/readyz", "/openapi.json"):
            return API_POLICY.encode()
        return self._app_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._policy(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {
                    b"content-security-policy",
                    b"x-content-type-options",
                    b"x-frame-options",
                    b"referrer-policy",
                }
                headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                ]
                if policy is not None:
                    headers.append((b"content-security-policy", policy))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
