"""Alembic migrations, applied programmatically under a PostgreSQL advisory lock.

The lock makes `butler migrate` safe to run from two processes at once: the second
waits, then finds nothing left to do.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SCHEMA = "butler"
VERSION_TABLE = "alembic_version"
# Arbitrary constant shared by every Butler process: "butler migrate" as a bigint.
ADVISORY_LOCK_KEY = 0x6275746C65726D67


def sqlalchemy_url(dsn: str) -> str:
    """asyncpg DSN (postgresql://...) to SQLAlchemy's asyncpg dialect URL."""
    for prefix in ("postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+asyncpg://" + dsn[len(prefix) :]
    raise ValueError("the database URL must start with postgresql://")


def alembic_config(dsn: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Stored as an attribute, not an option: ConfigParser would treat '%' in passwords.
    config.attributes["butler_url"] = sqlalchemy_url(dsn)
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def upgrade(dsn: str) -> None:
    """Apply every pending migration. Blocking: call it outside an event loop."""
    command.upgrade(alembic_config(dsn), "head")


async def current_revision(conn: asyncpg.Connection) -> str | None:
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{SCHEMA}.{VERSION_TABLE}")
    if not exists:
        return None
    revision: str | None = await conn.fetchval(f"SELECT version_num FROM {SCHEMA}.{VERSION_TABLE}")
    return revision


def run_script(sql: str) -> None:
    """Run a migration's SQL one statement at a time.

    asyncpg prepares each statement, and a prepared statement holds one command; the
    migration scripts end every statement with a semicolon at the end of a line.
    """
    from alembic import op

    for statement in sql.split(";\n"):
        if statement.strip():
            op.execute(statement)
