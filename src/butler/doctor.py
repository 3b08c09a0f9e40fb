"""`butler doctor`: check the configuration and the database, say what to fix."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import asyncpg

from butler.config import Settings
from butler.db import migrate
from butler.db.pool import connect
from butler.db.runtime import open_database
from butler.errors import ButlerError, ConfigError
from butler.memory.embeddings import local_model_files


def _report(ok: bool, label: str, detail: str) -> bool:
    print(f"[{'ok' if ok else 'FAIL'}] {label}: {detail}")
    return ok


async def _database_revision(dsn: str) -> str | None:
    conn = await connect(dsn, connect_timeout=5)
    try:
        return await migrate.current_revision(conn)
    finally:
        await conn.close()


def _embeddings(settings: Settings) -> tuple[bool, str, str]:
    memory = settings.memory
    if memory.embedding_provider == "none":
        return True, "embeddings", "off (recall by full text only)"
    if memory.embedding_provider == "openai":
        ok = bool(memory.embedding_base_url)
        detail = memory.embedding_base_url or "set BUTLER_MEMORY__EMBEDDING_BASE_URL"
        return ok, "embeddings", f"{memory.embedding_model} at {detail}"
    try:
        model, _ = local_model_files()
    except ConfigError as exc:
        return False, "embeddings", exc.message
    return True, "embeddings", f"local all-MiniLM-L6-v2 (int8 ONNX, checksum ok: {model.name})"


def diagnose(settings: Settings, database_url: str | None) -> list[str]:
    """Print one line per check; return the labels of the checks that failed."""
    failed: list[str] = []

    def check(ok: bool, label: str, detail: str) -> None:
        if not _report(ok, label, detail):
            failed.append(label)

    check(True, "mode", settings.mode.value)
    check(True, "data folder", str(settings.data_dir))
    lk = urlparse(settings.livekit.url)
    check(
        lk.scheme in {"ws", "wss", "http", "https"} and bool(lk.netloc),
        "LiveKit URL",
        settings.livekit.url + ("" if lk.netloc else " (set BUTLER_LIVEKIT__URL or LIVEKIT_URL)"),
    )
    check(*_embeddings(settings))
    where = "external (BUTLER_DATABASE_URL)" if database_url else "embedded"
    try:
        with open_database(settings.data_dir, database_url) as dsn:
            revision = asyncio.run(_database_revision(dsn))
    except (ButlerError, OSError, asyncpg.PostgresError) as exc:
        check(False, "database", f"{where}: {exc}")
        return failed
    head = migrate.head_revision()
    check(True, "database", f"{where}, reachable")
    check(
        revision == head,
        "migrations",
        f"at {revision}"
        if revision == head
        else f"at {revision}, code needs {head}: run `butler migrate`",
    )
    return failed
