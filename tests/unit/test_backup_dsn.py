"""pg_dump and pg_restore get the database URL without its password (a command line is
visible to every user of the machine in `ps`); the password goes in PGPASSWORD."""

from __future__ import annotations

import pytest

from butler.backup import _libpq


@pytest.mark.parametrize(
    ("dsn", "target", "password"),
    [
        (
            "postgresql://butler:p%40ss%3Aw@postgres:5432/butler",
            "postgresql://butler@postgres:5432/butler",
            "p@ss:w",
        ),
        (
            "postgresql://u:pw@[::1]:5433/db?sslmode=require",
            "postgresql://u@[::1]:5433/db?sslmode=require",
            "pw",
        ),
        (
            "postgresql://postgres:@/butler?host=/tmp/x",
            "postgresql://postgres:@/butler?host=/tmp/x",
            None,
        ),
    ],
)
def test_the_password_leaves_the_url(
    dsn: str, target: str, password: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    url, env = _libpq(dsn)
    assert url == target
    assert env.get("PGPASSWORD") == password
