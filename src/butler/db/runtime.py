"""Where the database is: an external server by URL, or the embedded one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from butler.db.embedded import EmbeddedPostgres


@contextlib.contextmanager
def open_database(data_dir: Path, database_url: str | None) -> Iterator[str]:
    """Yield a DSN: `database_url` as given, or the embedded server's (started if needed)."""
    if database_url:
        yield database_url
        return
    with EmbeddedPostgres(data_dir) as embedded:
        yield embedded.dsn
