"""Fixed-window attempt counters in PostgreSQL, so every API process shares them."""

from __future__ import annotations

import math

import asyncpg

from butler.errors import RateLimited


async def hit(conn: asyncpg.Connection, bucket: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt in `bucket`; raise RateLimited when over `limit` in the window."""
    attempts, remaining = await count(conn, bucket, window_seconds=window_seconds)
    if attempts > limit:
        raise _limited(remaining)


async def refuse_over(
    conn: asyncpg.Connection, bucket: str, *, limit: int, window_seconds: int
) -> None:
    """RateLimited if `bucket` already holds `limit` attempts in its window (counting
    nothing: for limits on failures, counted only once an attempt has failed)."""
    attempts, remaining = await current(conn, bucket, window_seconds=window_seconds)
    if attempts >= limit:
        raise _limited(remaining)


async def current(
    conn: asyncpg.Connection, bucket: str, *, window_seconds: int
) -> tuple[int, float]:
    """The attempts in `bucket`'s window now, and the seconds until it ends."""
    row = await conn.fetchrow(
        """SELECT attempts,
                  extract(epoch FROM window_start + make_interval(secs => $2) - now()) AS remaining
           FROM butler.rate_limits
           WHERE bucket = $1 AND window_start > now() - make_interval(secs => $2)""",
        bucket,
        float(window_seconds),
    )
    return (int(row["attempts"]), float(row["remaining"])) if row else (0, 0.0)


def _limited(remaining: float) -> RateLimited:
    retry_after = max(1, math.ceil(remaining))
    return RateLimited(
        f"Too many attempts; try again in {retry_after} seconds.",
        retry_after_seconds=retry_after,
    )


async def count(conn: asyncpg.Connection, bucket: str, *, window_seconds: int) -> tuple[int, float]:
    """Count one attempt in `bucket`; the attempts in the window so far, and the seconds
    until the window ends."""
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
    return int(row["attempts"]), float(row["remaining"])


async def purge_expired(conn: asyncpg.Connection, window_seconds: int) -> None:
    await conn.execute(
        "DELETE FROM butler.rate_limits WHERE window_start < now() - make_interval(secs => $1)",
        float(window_seconds),
    )
