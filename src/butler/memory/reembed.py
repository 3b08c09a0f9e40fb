"""`butler memory reembed`: embed every fact again after a change of model or dimensions.

A change of dimensions also retypes the column and rebuilds the HNSW index, since
pgvector indexes one fixed dimension.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

import asyncpg

from butler.memory.embeddings import Embedder, vector_literal

BATCH = 64
Progress = Callable[[int, int], None]


async def column_dimensions(conn: asyncpg.Connection) -> int:
    dims: int = await conn.fetchval(
        """SELECT atttypmod FROM pg_attribute
           WHERE attrelid = 'butler.user_facts'::regclass AND attname = 'embedding'"""
    )
    return dims


async def stale_count(conn: asyncpg.Connection, model_id: str) -> int:
    """How many facts lack an embedding from `model_id`."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM butler.user_facts WHERE embedding_model IS DISTINCT FROM $1",
        model_id,
    )
    return count


async def _retype(conn: asyncpg.Connection, dimensions: int) -> None:
    async with conn.transaction():
        await conn.execute("DROP INDEX IF EXISTS butler.user_facts_embedding_idx")
        await conn.execute("UPDATE butler.user_facts SET embedding = NULL, embedding_model = NULL")
        await conn.execute(
            f"ALTER TABLE butler.user_facts ALTER COLUMN embedding TYPE vector({int(dimensions)})"
        )
        await conn.execute(
            """CREATE INDEX user_facts_embedding_idx
               ON butler.user_facts USING hnsw (embedding vector_cosine_ops)"""
        )


async def reembed(
    conn: asyncpg.Connection, embedder: Embedder, *, everything: bool, progress: Progress
) -> int:
    """Embed the facts whose vectors are missing or from another model (all with
    `everything`); returns how many were embedded."""
    if await column_dimensions(conn) != embedder.dimensions:
        await _retype(conn, embedder.dimensions)
    condition = "TRUE" if everything else "embedding_model IS DISTINCT FROM $1"
    ids = [
        r["id"]
        for r in await conn.fetch(
            f"SELECT id FROM butler.user_facts WHERE {condition} ORDER BY id",
            *(() if everything else (embedder.model_id,)),
        )
    ]
    done = 0
    progress(done, len(ids))
    for start in range(0, len(ids), BATCH):
        rows = await conn.fetch(
            "SELECT id, fact FROM butler.user_facts WHERE id = ANY($1::uuid[])",
            ids[start : start + BATCH],
        )
        vectors = await embedder.embed([r["fact"] for r in rows])
        await conn.executemany(
            """UPDATE butler.user_facts SET embedding = $2::vector, embedding_model = $3
               WHERE id = $1""",
            [
                (r["id"], vector_literal(v), embedder.model_id)
                for r, v in zip(rows, vectors, strict=True)
            ],
        )
        done += len(rows)
        progress(done, len(ids))
    return done


def progress_bar(stream: TextIO = sys.stderr, width: int = 30) -> Progress:
    def show(done: int, total: int) -> None:
        filled = width if total == 0 else width * done // total
        percent = 100 if total == 0 else 100 * done // total
        stream.write(
            f"\rre-embedding facts [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{total} {percent}%"
        )
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show
