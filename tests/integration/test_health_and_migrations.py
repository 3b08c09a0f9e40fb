"""Health probes and migrations: from empty, re-run, and two processes at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from butler.db import migrate
from butler.db.embedded import EmbeddedPostgres
from tests.support import live_server, make_settings, run

EXPECTED_TABLES = {
    "alembic_version",
    "users",
    "credentials",
    "invites",
    "password_resets",
    "refresh_tokens",
    "rate_limits",
    "conversation_history",
    "user_facts",
    "tool_usage",
    "voice_turns",
    "voice_sessions",
    "home_entities",
    "home_permissions",
    "home_pending_actions",
    "home_connection",
    "home_heard_actions",
    "reminders",
    "reminder_firings",
    "deliveries",
    "push_subscriptions",
    "mcp_servers",
    "whatsapp_links",
    "whatsapp_link_codes",
    "whatsapp_contacts",
    "whatsapp_inbox",
    "whatsapp_sent",
    "whatsapp_problems",
}


def _fresh_database(postgres: EmbeddedPostgres, name: str) -> str:
    async def create(conn: asyncpg.Connection) -> None:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')

    run(create, postgres.dsn)
    return postgres.dsn.replace("/butler?", f"/{name}?")


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'butler'"
    )
    return {r["table_name"] for r in rows}


async def _revision(conn: asyncpg.Connection) -> str | None:
    return await migrate.current_revision(conn)


@pytest.fixture
def empty_dsn(postgres: EmbeddedPostgres, request: pytest.FixtureRequest) -> Iterator[str]:
    yield _fresh_database(postgres, "empty_" + request.node.name[:40].lower().replace("[", "_"))


def test_healthz(base_url: str) -> None:
    response = httpx.get(f"{base_url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_when_migrated(base_url: str) -> None:
    response = httpx.get(f"{base_url}/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_reports_missing_migrations(empty_dsn: str, tmp_path: Path) -> None:
    with live_server(make_settings(tmp_path), empty_dsn) as url:
        response = httpx.get(f"{url}/readyz")
    assert response.status_code == 503
    assert "migrations not current" in response.json()["detail"]


def test_migrations_from_empty_then_again(empty_dsn: str) -> None:
    assert run(_revision, empty_dsn) is None
    migrate.upgrade(empty_dsn)
    assert run(_tables, empty_dsn) == EXPECTED_TABLES
    assert run(_revision, empty_dsn) == migrate.head_revision()
    migrate.upgrade(empty_dsn)
    assert run(_tables, empty_dsn) == EXPECTED_TABLES


def test_schema_has_the_indexes_hot_queries_need(dsn: str) -> None:
    async def indexes(conn: asyncpg.Connection) -> dict[str, str]:
        rows = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'butler'"
        )
        return {r["indexname"]: r["indexdef"] for r in rows}

    found = run(indexes, dsn)
    assert "(user_id, created_at DESC, id DESC)" in found["conversation_history_user_recent_idx"]
    assert "hnsw (embedding vector_cosine_ops)" in found["user_facts_embedding_idx"]
    assert "gin (user_id, fact_tsv)" in found["user_facts_user_tsv_idx"]
    assert "(user_id, md5(lower(fact)))" in found["user_facts_user_text_idx"]
    assert "(token_hash)" in found["refresh_tokens_token_hash_key"]
    assert "(code_hash)" in found["invites_code_hash_key"]
    assert "(username)" in found["users_username_key"]


def test_two_processes_migrating_at_once(empty_dsn: str) -> None:
    env = {**os.environ, "BUTLER_DATABASE_URL": empty_dsn}
    command = [sys.executable, "-m", "butler", "migrate"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err.decode()
        assert b"Database is at migration" in out

    async def versions(conn: asyncpg.Connection) -> int:
        return int(await conn.fetchval("SELECT count(*) FROM butler.alembic_version"))

    assert run(versions, empty_dsn) == 1
    assert run(_tables, empty_dsn) == EXPECTED_TABLES
