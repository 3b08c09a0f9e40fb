"""The set of tools a turn may use, and running one call safely."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from butler.llm.base import ToolCall, ToolSpec
from butler.tools.base import Tool, ToolContext, ToolError
from butler.users.models import User

log = logging.getLogger(__name__)

Status = Literal["ok", "tool_error", "failed"]


@dataclass(frozen=True)
class ToolOutcome:
    call: ToolCall
    content: str
    status: Status
    duration_ms: int

    @property
    def is_error(self) -> bool:
        return self.status != "ok"


def _as_text(result: Any) -> str:
    if result is None:
        return "done"
    if isinstance(result, str):
        return result
    return json.dumps(result, default=str)


def _validation_message(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
    ]
    return "Invalid arguments: " + "; ".join(problems)


class ToolSource(Protocol):
    """Tools that come and go while Butler runs (an MCP server's)."""

    def tools(self) -> Sequence[Tool]: ...


class ToolRegistry:
    def __init__(
        self,
        tools: Iterable[Tool],
        *,
        timeout_seconds: float = 20.0,
        sources: Sequence[ToolSource] = (),
    ) -> None:
        self._tools = {t.name: t for t in tools}
        self._sources = sources
        self.timeout_seconds = timeout_seconds
        # Built once: generating JSON schemas costs more than the rest of a turn's set-up.
        self._specs = tuple(t.spec for t in self._tools.values())

    def specs(self, user: User) -> tuple[ToolSpec, ...]:
        """The tools offered to `user` now."""
        own = (
            spec
            for spec, tool in zip(self._specs, self._tools.values(), strict=True)
            if tool.offered_to(user)
        )
        found = (t.spec for t in self._from_sources() if t.offered_to(user))
        return (*own, *found)

    def _from_sources(self) -> list[Tool]:
        return [t for source in self._sources for t in source.tools() if t.name not in self._tools]

    def _find(self, name: str) -> Tool | None:
        found = self._tools.get(name)
        if found is None:
            found = next((t for t in self._from_sources() if t.name == name), None)
        return found

    def label(self, name: str) -> str:
        found = self._find(name)
        return found.label if found else name

    async def run(self, call: ToolCall, ctx: ToolContext) -> ToolOutcome:
        """Run one call. Never raises (except cancellation): failures become outcomes."""
        started = time.perf_counter()

        def outcome(content: str, status: Status) -> ToolOutcome:
            return ToolOutcome(call, content, status, int((time.perf_counter() - started) * 1000))

        found = self._find(call.name)
        if found is None or not found.offered_to(ctx.user):
            return outcome(f"There is no tool named '{call.name}'.", "tool_error")
        try:
            arguments = found.arguments.model_validate(call.arguments)
        except ValidationError as exc:
            return outcome(_validation_message(exc), "tool_error")
        try:
            async with asyncio.timeout(self.timeout_seconds):
                result = await found(ctx, arguments)
        except ToolError as exc:
            return outcome(exc.message, "tool_error")
        except TimeoutError:
            log.warning("tool %s timed out after %.0fs", call.name, self.timeout_seconds)
            return outcome("The tool took too long and was stopped.", "failed")
        except Exception:
            log.exception("tool %s failed", call.name)
            return outcome("The tool failed unexpectedly.", "failed")
        return outcome(_as_text(result), "ok")
