"""Where the database is: an external server by URL, or the embedded one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from butler.db.embedded import EmbeddedPostgres
from butler.db.supervisor import Supervisor


@contextlib.contextmanager
def open_database(
    data_dir: Path,
    database_url: str | None,
    *,
    on_give_up: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """Yield a DSN: `database_url` as given, or the embedded server's (started if needed).

    With `on_give_up` (a long-running server), the embedded server is also restarted when
    it dies, and `on_give_up(reason)` is called if it keeps dying.
    """
    if database_url:
        yield database_url
        return
    with EmbeddedPostgres(data_dir) as embedded:
        if on_give_up is None:
            yield embedded.dsn
            return
        supervisor = Supervisor(
            embedded.alive, embedded.start_again, on_give_up, what="The embedded PostgreSQL"
        )
        with supervisor.running():
            yield embedded.dsn
