"""`butler backup` and `butler restore`: a round trip through a wiped data folder (a new
server) gives back the same people, history, facts and secrets; bad archives and a
restore without confirmation change nothing."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import stat
import tarfile
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from butler.auth.passwords import hash_password
from butler.config import MemorySettings
from butler.db.pool import connect
from butler.db.runtime import open_database
from butler.memory import history
from butler.memory.facts import FactStore
from butler.users import repository as users
from butler.users.models import Role
from tests.integration.test_cli import _butler, _env
from tests.support import PASSWORD

pytestmark = pytest.mark.slow

TABLES = {
    "users": "SELECT id, username, display_name, role, soul::text FROM butler.users",
    "passwords": "SELECT user_id, password_hash FROM butler.credentials",
    "history": "SELECT id, user_id, channel, role, content, created_at FROM "
    "butler.conversation_history",
    "facts": "SELECT id, user_id, fact, category, embedding::text FROM butler.user_facts",
}


async def _household(dsn: str) -> None:
    conn = await connect(dsn)
    try:
        ann = await users.create(
            conn,
            username="ann",
            display_name="Ann",
            role=Role.ADMIN,
            password_hash=await hash_password(PASSWORD),
        )
        await history.save_turn(
            conn,
            history.CompletedTurn(
                user_id=ann.id,
                channel="text",
                session_id=None,
                user_text="When do the bins go out?",
                reply_text="On Thursday.",
            ),
        )
        fact, _ = await FactStore(None, MemorySettings()).remember(
            conn, ann.id, "Is allergic to peanuts", category="health"
        )
        dimensions = await conn.fetchval(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'butler.user_facts'::regclass "
            "AND attname = 'embedding'"
        )
        vector = "[" + ",".join(str(round(0.001 * i, 3)) for i in range(dimensions)) + "]"
        await conn.execute(
            "UPDATE butler.user_facts SET embedding = $1::vector WHERE id = $2", vector, fact.id
        )
    finally:
        await conn.close()


async def _snapshot(dsn: str) -> dict[str, list[dict[str, Any]]]:
    conn = await connect(dsn)
    try:
        return {
            name: [dict(r) for r in await conn.fetch(query + " ORDER BY 1")]
            for name, query in TABLES.items()
        }
    finally:
        await conn.close()


def _on_database(data_dir: Path, work: Any) -> Any:
    with open_database(data_dir, None) as dsn:
        return asyncio.run(work(dsn))


def test_backup_wipe_restore_gives_back_the_household(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _env(data)
    migrated = _butler("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    _on_database(data, _household)
    (data / "vapid-private.pem").write_text("the push key")
    before = _on_database(data, _snapshot)
    assert all(before.values()), before
    secrets_before = (data / "secrets.json").read_text()

    made = _butler("backup", "--out", str(tmp_path / "backups"), env=env)
    assert made.returncode == 0, made.stderr
    assert "Backup written to" in made.stdout and "Dumping the database" in made.stdout
    (archive,) = (tmp_path / "backups").glob("butler-backup-*.tar")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600, "it holds secrets"

    shutil.rmtree(data)  # a new server: no database, no secrets
    unconfirmed = _butler("restore", str(archive), env=env)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    restored = _butler("restore", str(archive), "--yes", env=env)
    assert restored.returncode == 0, restored.stderr
    assert _on_database(data, _snapshot) == before
    assert (data / "secrets.json").read_text() == secrets_before
    assert (data / "vapid-private.pem").read_text() == "the push key"
    assert stat.S_IMODE((data / "secrets.json").stat().st_mode) == 0o600

    # Restoring over a household keeps what it replaces: a backup of it, and the files.
    _on_database(data, _forget_everyone)
    (data / "vapid-private.pem").write_text("a newer push key")
    again = _butler("restore", str(archive), "--yes", env=env)
    assert again.returncode == 0, again.stderr
    assert _on_database(data, _snapshot) == before
    (kept_key,) = data.glob("vapid-private.pem.before-restore-*")
    assert kept_key.read_text() == "a newer push key"
    # (The household removed above had nobody left: nothing to save then.)
    assert "saved in" not in again.stdout
    third = _butler("restore", str(archive), "--yes", env=env)
    assert third.returncode == 0, third.stderr
    (saved,) = (data / "backups").glob("before-restore-*.tar")
    assert "saved in" in third.stdout and str(saved) in third.stdout


async def _forget_everyone(dsn: str) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute("DELETE FROM butler.users")
    finally:
        await conn.close()


def _tar(path: Path, entries: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, payload in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def test_a_bad_archive_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _env(data)
    assert _butler("migrate", env=env).returncode == 0
    manifest = json.dumps(
        {"format": 1, "created_at": "2026-12-01", "revision": "9999", "data_files": []}
    ).encode()
    cases = {
        "not a tar": (tmp_path / "junk.tar", None),
        "escapes": (_tar(tmp_path / "evil.tar", {"../evil": b"x"}), None),
        "newer": (
            _tar(tmp_path / "new.tar", {"manifest.json": manifest, "database.dump": b""}),
            None,
        ),
    }
    (tmp_path / "junk.tar").write_bytes(b"this is not an archive")
    for what, (archive, _) in cases.items():
        result = _butler("restore", str(archive), "--yes", env=env)
        assert result.returncode == 2, (what, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    assert "newer Butler" in _butler("restore", str(tmp_path / "new.tar"), "--yes", env=env).stderr
    assert not (tmp_path / "evil").exists()
    missing = _butler("restore", str(tmp_path / "nowhere.tar"), "--yes", env=env)
    assert missing.returncode == 2 and "is not a file" in missing.stderr
    # A dump PostgreSQL cannot read fails after the old data was set aside: it is put back.
    _on_database(data, _household)
    before = _on_database(data, _snapshot)
    head = _on_database(data, _revision)
    broken = _tar(
        tmp_path / "broken.tar",
        {
            "manifest.json": json.dumps(
                {"format": 1, "created_at": "2026-12-01", "revision": head, "data_files": []}
            ).encode(),
            "database.dump": b"PGDMP this is not a dump",
        },
    )
    failed = _butler("restore", str(broken), "--yes", env=env)
    assert failed.returncode == 2 and "pg_restore failed" in failed.stderr, failed.stderr
    assert _on_database(data, _snapshot) == before


async def _revision(dsn: str) -> str | None:
    conn: asyncpg.Connection = await connect(dsn)
    try:
        value: str | None = await conn.fetchval("SELECT version_num FROM butler.alembic_version")
        return value
    finally:
        await conn.close()
