"""The asyncpg connection pool.

Why asyncpg directly rather than SQLAlchemy's ORM: every hot query (the user for a
token, the recent history, fact recall) is one hand-written, indexed SQL statement, and
asyncpg's prepared-statement cache makes each a single round trip with no ORM layer on
the path to the first token. Alembic (on SQLAlchemy's asyncpg dialect) only runs
migrations.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from butler.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
# While the database is down, asyncpg's pool logs a traceback each time it fails to
# reopen its idle connection; requests' 503s and the supervisor already say it once.
logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)

# How long a request waits for a free connection before it answers 503.
ACQUIRE_TIMEOUT_SECONDS = 5.0
# How long giving a connection back waits for PostgreSQL to acknowledge a cancelled
# query: a healthy server does in milliseconds; a stalled one never does, and the
# connection is closed instead of holding the request (asyncpg would wait 30 s).
CANCEL_WAIT_SECONDS = 1.0
# The server ends a statement after the timeout; the client gives up this much later, for
# a server that cannot (stopped, or the network gone).
CLIENT_TIMEOUT_MARGIN_SECONDS = 2.0


async def init_connection(conn: asyncpg.Connection) -> None:
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(
            pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on every release (one round trip each).

    Butler keeps no session state on a connection: advisory locks are transaction-scoped,
    nothing LISTENs, no temporary tables or SET, and transactions are always context
    managers that end before the connection goes back.
    """


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, statement_timeout: float = 10
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        reset=_keep_session,
        command_timeout=statement_timeout + CLIENT_TIMEOUT_MARGIN_SECONDS,
        timeout=ACQUIRE_TIMEOUT_SECONDS,  # opening a new connection
        server_settings={
            "application_name": "butler",
            "search_path": "butler,public",
            "statement_timeout": str(round(statement_timeout * 1000)),
            # HNSW searches filtered to one person keep walking the graph until they
            # have enough of that person's facts (pgvector 0.8).
            "hnsw.iterative_scan": "relaxed_order",
        },
    )
    assert pool is not None
    return pool


# Failures that mean "the database is not there right now", not "this query is wrong".
_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutdown, recovery, statement timeout
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)
# Generic failures that count as an outage only when asyncpg raised them.
_OUTAGES_FROM_THE_DRIVER: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    asyncpg.InterfaceError,  # "connection is closed", "another operation is cancelling"
)


# What a caller that can wait for the next try (a background loop, a lease heartbeat)
# treats as "the database failed this time": the driver's errors, and an outage that
# `connection` turned into DatabaseUnavailable.
DATABASE_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    DatabaseUnavailable,
)


def _raised_by_the_driver(exc: BaseException) -> bool:
    traceback: TracebackType | None = exc.__traceback__
    while traceback is not None:
        if str(traceback.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        traceback = traceback.tb_next
    return False


def is_outage(exc: BaseException) -> bool:
    """Did `exc` (or what it was raised while handling) come from an unreachable database?"""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain of a few links: a rollback's error over a timeout
        if seen is None:
            return False
        if isinstance(seen, _OUTAGES) or (
            isinstance(seen, _OUTAGES_FROM_THE_DRIVER) and _raised_by_the_driver(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextlib.asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, typed as the Connection whose methods it proxies.

    An unreachable, stalled or restarting database raises DatabaseUnavailable (503) within
    seconds instead of holding the caller until TCP or asyncpg gives up.
    """
    try:
        conn = await pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS)
    except Exception as exc:
        if is_outage(exc):
            raise DatabaseUnavailable() from exc
        raise
    try:
        yield cast(asyncpg.Connection, conn)
    except Exception as exc:
        if is_outage(exc):
            conn.terminate()  # never wait for a server that does not answer
            raise DatabaseUnavailable() from exc
        raise
    finally:
        await _give_back(pool, conn)


async def _give_back(pool: asyncpg.Pool, conn: PoolConnectionProxy[asyncpg.Record]) -> None:
    try:
        await pool.release(conn, timeout=CANCEL_WAIT_SECONDS)
    except Exception as exc:  # asyncpg has closed the connection; the pool opens another
        log.debug("a database connection was closed instead of reused: %r", exc)


async def connect(dsn: str, *, connect_timeout: float = 10) -> asyncpg.Connection:
    """One connection with the same codecs as the pool's, for CLI commands."""
    conn = await asyncpg.connect(dsn, timeout=connect_timeout)
    await init_connection(conn)
    return conn
