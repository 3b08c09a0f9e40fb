"""The loop of a background worker that polls the database (the reminder dispatcher,
the WhatsApp responder): a failing database or a bug is logged and the next poll tries
again; the loop itself never stops until it is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from butler.db.pool import DATABASE_FAILURES

log = logging.getLogger(__name__)


async def poll_forever(
    tick: Callable[[bool], Awaitable[None]],
    *,
    what: str,
    poll_seconds: float,
    sweep_every: int,
    wake: asyncio.Event | None = None,
) -> None:
    """Call `tick(sweep)` every `poll_seconds`, sooner when `wake` is set; `sweep` is
    true on the first poll and every `sweep_every` after it."""
    polls = 0
    while True:
        try:
            await tick(polls % sweep_every == 0)
        except DATABASE_FAILURES as exc:
            log.warning("%s: the database failed (%s); trying again", what, exc)
        except Exception:
            log.exception("%s failed; trying again", what)
        polls += 1
        if wake is None:
            await asyncio.sleep(poll_seconds)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll_seconds)
        wake.clear()
