"""A small MCP server for the tests, built with the official SDK: over stdio when run as
`python tests/fakes/mcp_server.py`, or over streamable HTTP with `serving_http()`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver import MCPServer


def build() -> MCPServer:
    # Quiet: with `rich` installed (schemathesis and import-linter bring it), the SDK
    # renders each failing tool's traceback in colour, which alone takes longer than the
    # tests' one-second call timeout.
    server = MCPServer(name="pantry", log_level="CRITICAL")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two whole numbers."""
        return a + b

    @server.tool()
    def shopping_list() -> str:
        """What is on the household's shopping list."""
        return "eggs, flour, milk"

    @server.tool()
    async def slow(seconds: float) -> str:
        """Wait, then answer."""
        await asyncio.sleep(seconds)
        return "finally"

    @server.tool()
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("the pantry is locked")

    return server


@contextmanager
def serving_http() -> Iterator[str]:
    """The server's streamable-HTTP endpoint on 127.0.0.1: its URL."""
    from tests.fakes.wire import serving  # (run over stdio, this file imports only mcp)

    with serving(build().streamable_http_app()) as base:
        yield f"{base}/mcp"


if __name__ == "__main__":
    build().run()  # stdio
