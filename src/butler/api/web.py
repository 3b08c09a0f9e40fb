"""Serve the built web app (the PWA) at `/`, beside the API.

Hashed assets are cached for a year; the shell, the manifest and the service worker are
revalidated on every load so that an update reaches installed apps. Any path that is not
a file gets index.html (the app routes in the browser), except the API's own paths,
which keep their JSON 404.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SOURCE_TREE_WEB_DIR = Path(__file__).resolve().parents[3] / "web" / "dist"
_SERVER_ONLY = ("api", "healthz", "readyz", "docs", "redoc", "openapi.json", "livekit", "ca.crt")
_REVALIDATE = {"index.html", "sw.js", "push-sw.js", "registerSW.js", "manifest.webmanifest"}

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Butler</title></head><body style="font-family:system-ui;max-width:36rem;margin:3rem auto">
<h1>Butler's API is running</h1><p>The web app has not been built. Run <code>make web</code>
(or <code>make run</code>, which builds it) in the Butler source folder, or set
<code>BUTLER_SERVER__WEB_DIR</code> to a folder with a built app.</p></body></html>"""


def _server_only(path: str) -> bool:
    first = path.strip("/").split("/", 1)[0]
    return first in _SERVER_ONLY


class WebMount(Mount):
    """Mounted at `/`, but never takes the API's paths: those keep their 404 and 405."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and _server_only(scope["path"]):
            return Match.NONE, {}
        return super().matches(scope)


class WebApp(StaticFiles):
    """StaticFiles with the app's cache rules and a fallback to index.html; source maps
    only outside production (they would hand out the app's source as written)."""

    def __init__(self, *, directory: Path, source_maps: bool) -> None:
        super().__init__(directory=directory)
        self.source_maps = source_maps

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not self.source_maps and path.endswith(".map"):
            raise HTTPException(404)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or PurePosixPath(path).suffix:
                raise  # a missing asset stays a 404: the shell is not a JavaScript file
            response = await super().get_response("index.html", scope)
            path = "index.html"
        if PurePosixPath(path).name in _REVALIDATE:
            response.headers["Cache-Control"] = "no-cache"
        elif path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


class NoStoreApi:
    """Mark every API response `no-store`: no browser or service worker may cache it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)


API_DOCS_PAGE = "api-docs.html"


def _serve_api_docs(app: FastAPI, page: Path) -> None:
    """/docs: the app's own API reference page (it fetches /openapi.json itself)."""

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> Response:  # a thread: it looks at the disk
        if not page.is_file():
            return HTMLResponse(_NOT_BUILT, status_code=503)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})


def mount_web_app(app: FastAPI, web_dir: Path | None, *, source_maps: bool = True) -> None:
    """Serve `web_dir` (default: the source tree's web/dist) at `/`; call after the routes."""
    folder = web_dir or SOURCE_TREE_WEB_DIR
    _serve_api_docs(app, folder / API_DOCS_PAGE)
    if (folder / "index.html").is_file():
        web = WebApp(directory=folder, source_maps=source_maps)
        app.router.routes.append(WebMount("/", app=web, name="web"))
        return
    log.warning("No web app in %s: `make web` builds it. The API works without it.", folder)

    @app.get("/", include_in_schema=False)
    async def not_built() -> HTMLResponse:
        return HTMLResponse(_NOT_BUILT, status_code=503)
