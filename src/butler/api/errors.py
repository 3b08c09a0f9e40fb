"""One place that turns every failure into `{"error": code, "message": ...}`."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from butler.api.turns import ClientLeft
from butler.errors import ButlerError, NotAuthenticated

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "body_timeout",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def _describe(error: dict[str, Any]) -> dict[str, Any]:
    # Never echo the rejected input back: it may be a password.
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return {"field": location or "body", "problem": str(error.get("msg", "invalid"))}


async def _butler_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ButlerError)
    headers: dict[str, str] = {}
    if exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if exc.status >= 500:
        # An outage (retryable) is worth a warning per request, not an error each.
        level = logging.WARNING if exc.retryable else logging.ERROR
        log.log(level, "%s: %s", exc.code, exc.message)
    return JSONResponse(error_body(exc.code, exc.message), exc.status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [_describe(e) for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        message = "The request body is not valid JSON."
    else:
        message = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
    return JSONResponse(error_body("invalid_request", message, details=details), 422)


async def _client_left(request: Request, exc: Exception) -> Response:
    # Nobody is there to read it: nginx's "client closed request", for the access log.
    return Response(status_code=499)


def _allowed_methods(request: Request, first_route: str) -> str:
    """Every method the API has at this path: Starlette names only the first matching
    route's (`first_route`), and /api/users/me has a GET route and a PATCH route."""
    methods = {m.strip() for m in first_route.split(",") if m.strip()}
    for pattern, documented in _documented_paths(request.app):
        if pattern.fullmatch(request.url.path):
            methods |= documented
    return ", ".join(sorted(methods))


def _documented_paths(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    cached: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        app.state, "documented_paths", None
    )
    if cached is None:
        cached = [
            (re.compile(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path))), {m.upper() for m in ops})
            for path, ops in app.openapi().get("paths", {}).items()
        ]
        app.state.documented_paths = cached
    return cached


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=headers)


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    # A value PostgreSQL cannot take (bad encoding, out of range) that validation missed:
    # still the client's input, so a 422 rather than a 500.
    log.warning("database refused a value on %s: %s", request.url.path, type(exc).__name__)
    return JSONResponse(
        error_body("invalid_request", "The request contains a value that cannot be stored."), 422
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internal_error", "Something went wrong on our side."), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ButlerError, _butler_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientLeft, _client_left)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(asyncpg.DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)
