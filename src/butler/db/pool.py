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
from collections.abc import AsyncIterator
from typing import cast

import asyncpg


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


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        reset=_keep_session,
        command_timeout=30,
        server_settings={
            "application_name": "butler",
            "search_path": "butler,public",
            # HNSW searches filtered to one person keep walking the graph until they
            # have enough of that person's facts (pgvector 0.8).
            "hnsw.iterative_scan": "relaxed_order",
        },
    )
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, typed as the Connection whose methods it proxies."""
    async with pool.acquire() as conn:
        yield cast(asyncpg.Connection, conn)


async def connect(dsn: str, *, connect_timeout: float = 10) -> asyncpg.Connection:
    """One connection with the same codecs as the pool's, for CLI commands."""
    conn = await asyncpg.connect(dsn, timeout=connect_timeout)
    await init_connection(conn)
    return conn
