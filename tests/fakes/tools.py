"""Tools that exist only in tests: slow, failing and crashing ones, to watch the loop."""

from __future__ import annotations

import asyncio
import time

from butler.tools.base import ToolContext, ToolError, tool

CALLS: list[tuple[str, float, float]] = []  # (item, started, finished) on the monotonic clock


@tool(label="Looking something up")
async def slow_lookup(ctx: ToolContext, item: str) -> str:
    """Look up an item in the household inventory (takes a moment)."""
    started = time.monotonic()
    await asyncio.sleep(0.3)
    CALLS.append((item, started, time.monotonic()))
    return f"{item}: two left, for {ctx.user.username}"


@tool(label="Opening the garage")
async def open_garage(ctx: ToolContext) -> str:
    """Open the garage door."""
    raise ToolError("The garage door is jammed.")


@tool(label="Feeding the fish")
async def feed_fish(ctx: ToolContext, grams: int) -> str:
    """Feed the fish."""
    raise RuntimeError("secret internal detail: fish feeder on fire")


TEST_TOOLS = (slow_lookup, open_garage, feed_fish)
