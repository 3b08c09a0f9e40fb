"""The LLM's tools for the home. The person is always the turn's (ToolContext): what
they may see and control is decided by their permissions, never by the model."""

from __future__ import annotations

from dataclasses import replace

from butler.home.actions import Action, Request, describe_state
from butler.home.errors import HomeError
from butler.home.service import HomeService, NeedsConfirmation
from butler.tools.base import Tool, ToolContext, ToolError, tool

_MAX_LISTED = 40


def home_tools(home: HomeService) -> list[Tool]:
    @tool(label="Looking around the house")
    async def find_devices(ctx: ToolContext, query: str = "", area: str = "") -> str:
        """Find the home's devices by name, alias, kind or room: "kitchen lights", "front
        door", "bedroom heating", "temperature" with area "bedroom". Returns each one's id
        (for control_device), name, area and current state. Empty query and area: all."""
        try:
            found = (
                await home.find(ctx.user, query, area)
                if query.strip() or area.strip()
                else await home.visible(ctx.user)
            )
        except HomeError as exc:
            raise ToolError(exc.message) from exc
        if not found:
            return "No device you may use matches that."
        lines = [
            f"- {e.entity_id} | {e.name} | {e.area.name if e.area else 'no area'} | "
            f"{describe_state(e)}"
            + (" | needs the person's yes" if home.exposure.of(e).needs_confirmation else "")
            for e in found[:_MAX_LISTED]
        ]
        if len(found) > _MAX_LISTED:
            lines.append(f"… and {len(found) - _MAX_LISTED} more: ask with a narrower query.")
        return "\n".join(lines)

    @tool(label="Checking the house")
    async def device_state(ctx: ToolContext, entity_id: str) -> str:
        """The current state of one device, by the id find_devices gave."""
        try:
            return await home.read(ctx.user, entity_id)
        except HomeError as exc:
            raise ToolError(exc.message) from exc

    @tool(label="Working the house")
    async def control_device(
        ctx: ToolContext,
        entity_ids: list[str],
        action: Action,
        value: float | None = None,
        text: str | None = None,
    ) -> str:
        """Act on devices, by the ids find_devices gave. `value`: brightness, position or
        volume in percent (0-100), or a temperature in degrees; `text`: a colour name or an
        HVAC mode (heat, cool, auto, off). Locks, alarms and garage doors wait for the
        person's yes: this then returns the question to ask them; their yes in their next
        message carries it out (you cannot confirm it for them)."""
        try:
            done = await home.act(ctx.user, entity_ids, Request(action, value, text))
        except NeedsConfirmation as exc:
            return (
                f"Not done yet: it needs the person's yes. Ask exactly: '{exc.message}' "
                "Their yes in the next message carries it out within a minute."
            )
        except HomeError as exc:
            raise ToolError(exc.message) from exc
        return done.said

    def connected() -> bool:
        return home.configured

    return [replace(t, available=connected) for t in (find_devices, device_state, control_device)]
