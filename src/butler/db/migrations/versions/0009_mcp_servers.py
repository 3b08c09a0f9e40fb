"""MCP servers an admin connected in the app (streamable HTTP only; stdio ones come from
the configuration).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from butler.db.migrate import run_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE TABLE butler.mcp_servers (
            name       text PRIMARY KEY,
            config     jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );"""
    )


def downgrade() -> None:
    run_script("DROP TABLE IF EXISTS butler.mcp_servers;")
