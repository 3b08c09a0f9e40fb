"""Which MCP servers Butler connects to: from the configuration, and those an admin
added in the app (stored in PostgreSQL).

An app-added server can only be a streamable-HTTP address: a stdio server is a command
Butler runs, and only whoever configures the machine may choose commands to run.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from butler.config import McpServerConfig


async def saved_servers(conn: asyncpg.Connection) -> list[McpServerConfig]:
    rows = await conn.fetch("SELECT config FROM butler.mcp_servers ORDER BY name")
    return [McpServerConfig.model_validate(_json(r["config"])) for r in rows]


async def save_server(conn: asyncpg.Connection, server: McpServerConfig) -> bool:
    """Add or replace an app-added (HTTP) server; True when it is new."""
    created = await conn.fetchval(
        """INSERT INTO butler.mcp_servers (name, config) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = now()
           RETURNING (xmax = 0)""",
        server.name,
        server.model_dump(mode="json"),
    )
    return bool(created)


async def delete_server(conn: asyncpg.Connection, name: str) -> bool:
    found = await conn.fetchval(
        "DELETE FROM butler.mcp_servers WHERE name = $1 RETURNING name", name
    )
    return found is not None


async def fingerprint(conn: asyncpg.Connection) -> str:
    """Changes whenever a saved server is added, changed or removed."""
    found = await conn.fetchval(
        "SELECT count(*)::text || '/' || coalesce(max(updated_at)::text, '') "
        "FROM butler.mcp_servers"
    )
    return str(found)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
