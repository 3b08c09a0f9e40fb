"""Tools every butler has: the time where the user is, and ending a conversation."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from butler.tools.base import Tool, ToolContext, tool


@tool(label="Checking the time")
async def current_time(ctx: ToolContext) -> str:
    """The current date, time and weekday in the user's own timezone."""
    zone = ZoneInfo(ctx.user.timezone)
    now = ctx.now().astimezone(zone)
    return f"{now:%A %d %B %Y, %H:%M} ({ctx.user.timezone})"


@tool(label="Saying goodbye")
async def end_conversation(ctx: ToolContext) -> str:
    """End the conversation because the user said goodbye or has nothing more to ask.

    Say a short goodbye in the same reply. Use it only when the user clearly wants to stop.
    """
    ctx.end_requested = True
    return "The conversation will end after this reply."


BUILTIN_TOOLS: tuple[Tool, ...] = (current_time, end_conversation)
