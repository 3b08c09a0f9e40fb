"""Fixed-window attempt counters in PostgreSQL, so every API process shares them."""

from __future__ import annotations

import math

import asyncpg

from butler.errors import RateLimited


async def hit(conn: asyncpg.Connection, bucket: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt in `bucket`; raise RateLimited when over `limit` in the window."""
    row = await conn.fetchrow(
        """INSERT INTO butler.rate_limits AS r (bucket, window_start, attempts)
           VALUES ($1, now(), 1)
           ON CONFLICT (bucket) DO UPDATE SET
             window_start = CASE WHEN r.window_start <= now() - make_interval(secs => $2)
                                 THEN now() ELSE r.window_start END,
             attempts = CASE WHEN r.window_start <= now() - make_interval(secs => $2)
                             THEN 1 ELSE r.attempts + 1 END
           RETURNING attempts,
             extract(epoch FROM r.window_start + make_interval(secs => $2) - now()) AS remaining""",
        bucket,
        float(window_seconds),
    )
    assert row is not None
    if row["attempts"] > limit:
        retry_after = max(1, math.ceil(float(row["remaining"])))
        raise RateLimited(
            f"Too many attempts; try again in {retry_after} seconds.",
            retry_after_seconds=retry_after,
        )


async def purge_expired(conn: asyncpg.Connection, window_seconds: int) -> None:
    await conn.execute(
        "DELETE FROM butler.rate_limits WHERE window_start < now() - make_interval(secs => $1)",
        float(window_seconds),
    )
