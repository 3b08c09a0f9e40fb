"""A stalled PostgreSQL (frozen with SIGSTOP, as a hung disk or VM pause does) costs a
request a few seconds and a 503 with Retry-After, never a hang or a 500; the API comes
back by itself when the database does.

The database here is this test's own embedded server: freezing the session's would stall
every other test.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from butler.db import migrate
from butler.db.embedded import EmbeddedPostgres
from tests.support import live_server, make_settings, register

pytestmark = pytest.mark.slow

STATEMENT_TIMEOUT = 2.0


@contextmanager
def frozen(postgres: EmbeddedPostgres) -> Iterator[None]:
    pid = postgres.postmaster_pid()
    assert pid is not None
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for process in processes:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            os.kill(process.pid, signal.SIGCONT)


def timed_get(client: httpx.Client, path: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(path, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


def test_a_stalled_database_answers_503_within_seconds_and_recovers(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "database") as postgres:
        migrate.upgrade(postgres.dsn)
        settings = make_settings(tmp_path / "data").model_copy(
            update={"database_statement_timeout_seconds": STATEMENT_TIMEOUT}
        )
        with live_server(settings, postgres.dsn) as url:
            account = register(url, postgres.dsn)
            assert account.client.get("/api/users/me", headers=account.auth).status_code == 200
            with frozen(postgres):
                me, took = timed_get(account.client, "/api/users/me", headers=account.auth)
                assert me.status_code == 503, me.text
                assert me.json()["error"] == "database_unavailable"
                assert me.headers["retry-after"] == "5"
                # The statement timeout plus the client's margin, not TCP's or asyncpg's 30 s.
                assert took < STATEMENT_TIMEOUT + 5, took

                ready, took = timed_get(account.client, "/readyz")
                assert ready.status_code == 503 and took < 5, (ready.text, took)

                # More requests at once than the pool has connections: each gets its 503
                # within the wait for a connection plus the statement timeout.
                def me_from_another_client(_: int) -> tuple[int, float]:
                    with httpx.Client(base_url=url, timeout=60) as other:
                        response, took = timed_get(other, "/api/users/me", headers=account.auth)
                        return response.status_code, took

                with ThreadPoolExecutor(max_workers=14) as pool:
                    answers = list(pool.map(me_from_another_client, range(14)))
                assert {status for status, _ in answers} == {503}, answers
                assert max(took for _, took in answers) < 5 + STATEMENT_TIMEOUT + 5, answers

                # What needs no database is not held up.
                alive, took = timed_get(account.client, "/healthz")
                assert alive.status_code == 200 and took < 1, took

            deadline = time.monotonic() + 20
            while (me := account.client.get("/api/users/me", headers=account.auth)).is_error:
                assert me.status_code == 503, me.text
                assert time.monotonic() < deadline, "the API did not recover with the database"
                time.sleep(0.2)
            assert me.json()["username"] == account.username
