"""MCP servers' tools, offered to the model beside Butler's own.

Each server has one long-lived connection (the official `mcp` SDK: a stdio subprocess or
streamable HTTP), kept open by a task that reconnects with a growing pause when the
server goes away. Its tools are offered only while it is connected, and only to the
people its configuration admits; they run under the registry's timeout and audit like
any tool. A call to a server that is down, slow or failing becomes a sentence for the
model, never a broken turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import mcp
from pydantic import BaseModel, ConfigDict

from butler.config import McpServerConfig
from butler.tools.base import Tool, ToolContext, ToolError
from butler.users.models import User

log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 20_000
MAX_BACKOFF = 60.0
State = Literal["connecting", "connected", "failed"]


class AnyArguments(BaseModel):
    """An MCP tool's arguments: checked by its server, against the schema it published."""

    model_config = ConfigDict(extra="allow")


def tool_name(server: str, tool: str) -> str:
    """mcp_<server>__<tool>, in the characters and length model APIs accept."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", tool)
    return f"mcp_{server}__{cleaned}"[:64]


@dataclass
class McpConnection:
    config: McpServerConfig
    call_timeout: float
    connect_timeout: float
    state: State = "connecting"
    error: str | None = None
    tools: list[Tool] = field(default_factory=list)
    _client: mcp.Client | None = None
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mcp-{self.config.name}")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._connect_and_wait()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # a task group's failure is an exception group
                failures += 1
                where = self.config.url or self.config.command
                self._lost(f"{_reason(exc)} ({where})")
            delay = min(MAX_BACKOFF, 2.0 ** min(failures, 6))
            await asyncio.sleep(delay)

    async def _connect_and_wait(self) -> None:
        self.state, self.error = "connecting", None
        async with mcp.Client(self._target(), read_timeout_seconds=self.call_timeout) as client:
            listed = await asyncio.wait_for(client.list_tools(), self.connect_timeout)
            self._client = client
            self.tools = [self._tool(t) for t in listed.tools]
            self.state = "connected"
            log.info("MCP server %s: %d tools", self.config.name, len(self.tools))
            while True:  # keep the session open; a ping that fails ends it
                await asyncio.sleep(30)
                await asyncio.wait_for(client.send_ping(), self.connect_timeout)

    def _lost(self, reason: str) -> None:
        self._client = None
        self.tools = []
        self.state, self.error = "failed", reason
        log.warning("MCP server %s is not available: %s", self.config.name, reason)

    def _target(self) -> Any:
        if self.config.url is not None:
            return self.config.url
        return mcp.StdioServerParameters(
            command=self.config.command or "",
            args=list(self.config.args),
            env=self.config.env or None,  # None: the SDK's safe default environment
        )

    def _tool(self, listed: mcp.types.Tool) -> Tool:
        server, remote = self.config.name, listed.name

        async def call(ctx: ToolContext, **arguments: Any) -> str:
            return await self.call(remote, arguments)

        description = (listed.description or listed.title or remote).strip()
        return Tool(
            name=tool_name(server, remote),
            description=f"{description}\n(From the {server} MCP server.)"[:2000],
            label=f"Asking {server}",
            arguments=AnyArguments,
            function=call,
            available=lambda: self.state == "connected",
            allowed=self._admits,
            schema=_schema(listed.input_schema),
        )

    def _admits(self, user: User) -> bool:
        return self.config.people == "everyone" or user.is_admin

    async def call(self, remote: str, arguments: dict[str, Any]) -> str:
        client = self._client
        if client is None:
            raise ToolError(f"The {self.config.name} service is not connected right now.")
        try:
            result = await asyncio.wait_for(client.call_tool(remote, arguments), self.call_timeout)
        except TimeoutError as exc:
            raise ToolError(f"The {self.config.name} service did not answer in time.") from exc
        except Exception as exc:
            log.warning("MCP %s.%s failed: %s", self.config.name, remote, _reason(exc))
            raise ToolError(f"The {self.config.name} service failed: {_reason(exc)}") from exc
        text = _text_of(result)
        if getattr(result, "is_error", False):
            raise ToolError(text or f"The {self.config.name} service reported an error.")
        return text[:MAX_RESULT_CHARS]


def _schema(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict) and schema.get("type") == "object":
        return {k: v for k, v in schema.items() if k != "$schema"}
    return {"type": "object", "properties": {}}


def _text_of(result: Any) -> str:
    parts = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else f"[{getattr(block, 'type', 'content')}]")
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(str(result.structured_content))
    return "\n".join(parts)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _reason(exc.exceptions[0])
    return f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__


class McpHub:
    """Every configured server's connection; a ToolSource for the registry."""

    def __init__(self, *, call_timeout: float, connect_timeout: float) -> None:
        self._call_timeout = call_timeout
        self._connect_timeout = connect_timeout
        self.connections: dict[str, McpConnection] = {}

    def tools(self) -> Sequence[Tool]:
        return [t for c in self.connections.values() for t in c.tools]

    async def use(self, configs: Sequence[McpServerConfig]) -> None:
        """Connect to exactly these servers: new ones start, changed ones restart, gone
        ones close."""
        wanted = {c.name: c for c in configs}
        for name in list(self.connections):
            if name not in wanted or self.connections[name].config != wanted[name]:
                await self.connections.pop(name).aclose()
        for name, config in wanted.items():
            if name not in self.connections:
                connection = McpConnection(config, self._call_timeout, self._connect_timeout)
                self.connections[name] = connection
                connection.start()

    async def aclose(self) -> None:
        await self.use([])
