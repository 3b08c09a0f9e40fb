"""The MCP servers Butler uses: the configured ones and those an admin added in the app,
kept connected, and followed when an admin changes them (in every API process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from butler.config import McpServerConfig
from butler.db.pool import connection
from butler.tools.mcp import McpHub
from butler.tools.mcp_servers import fingerprint, saved_servers

log = logging.getLogger(__name__)

WATCH_SECONDS = 10.0


class McpService:
    def __init__(
        self, pool: asyncpg.Pool, configured: Sequence[McpServerConfig], hub: McpHub
    ) -> None:
        self.pool = pool
        self.configured = {c.name: c for c in configured}
        self.hub = hub
        self._seen: str | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.reload()
        self._watcher = asyncio.create_task(self._watch(), name="mcp-watch")

    async def reload(self) -> None:
        """Connect to the configured servers and the saved ones (a configured name wins)."""
        saved: list[McpServerConfig] = []
        try:
            async with connection(self.pool) as conn:
                saved = await saved_servers(conn)
                self._seen = await fingerprint(conn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("MCP: could not read the saved servers: %s", exc)
        chosen = {**{s.name: s for s in saved}, **self.configured}
        await self.hub.use(list(chosen.values()))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                async with connection(self.pool) as conn:
                    changed = await fingerprint(conn) != self._seen
                if changed:
                    await self.reload()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("MCP: could not check the saved servers: %s", exc)

    def status(self) -> list[dict[str, Any]]:
        found = []
        for name, link in sorted(self.hub.connections.items()):
            config = link.config
            found.append(
                {
                    "name": name,
                    "transport": config.transport,
                    "source": "settings" if name in self.configured else "app",
                    "address": config.url or " ".join([config.command or "", *config.args]),
                    "people": config.people,
                    "state": link.state,
                    "error": link.error,
                    "tools": [t.name for t in link.tools],
                }
            )
        return found

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.hub.aclose()
