"""`butler serve`: database up, migrations applied, first admin invite, the embedded voice
stack when no LiveKit URL is set, then uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from butler.api.app import create_app
from butler.api.http_guard import HeadLimits, guard
from butler.api.worker import WORKER_DSN_VARIABLE
from butler.auth import invites
from butler.config import Settings
from butler.db import migrate
from butler.db.embedded import exclusive_serve_lock
from butler.db.pool import connect
from butler.db.runtime import open_database
from butler.errors import ConfigError
from butler.metrics import MULTIPROCESS_DIR
from butler.stack.home_network import bracketed
from butler.stack.local_stack import LocalStack
from butler.stack.local_tls import LocalTLS, ensure_certificate
from butler.tools.base import Tool
from butler.users import repository as users
from butler.users.models import Role

log = logging.getLogger(__name__)


async def first_admin_invite(dsn: str, ttl: timedelta) -> invites.Invite | None:
    """An admin invite when nobody has an account yet (every start until someone does)."""
    conn = await connect(dsn)
    try:
        if await users.count(conn) > 0:
            return None
        return await invites.create(conn, role=Role.ADMIN, ttl=ttl)
    finally:
        await conn.close()


def announce_invite(invite: invites.Invite, base_url: str) -> None:
    banner = "=" * 64
    print(
        f"\n{banner}\n"
        "No one has an account yet. Register the first admin with this invite code:\n\n"
        f"    {invite.code}\n\n"
        f"It is valid until {invite.expires_at:%Y-%m-%d %H:%M %Z} and works once. For example:\n"
        f"    curl -X POST {base_url}/api/auth/register -H 'Content-Type: application/json' \\\n"
        f'      -d \'{{"code": "{invite.code}", "username": "alice", '
        '"display_name": "Alice", "password": "a long passphrase"}\'\n'
        f"{banner}\n",
        flush=True,
    )


def uvicorn_config(
    settings: Settings,
    dsn: str,
    *,
    host: str,
    port: int,
    extra_tools: Sequence[Tool] = (),
    tls: LocalTLS | None = None,
) -> uvicorn.Config:
    config = uvicorn.Config(
        create_app(settings, dsn, extra_tools=extra_tools),
        host=host,
        port=port,
        **_shared_options(settings, tls),
    )
    return guard(config, head_limits(settings))


def head_limits(settings: Settings) -> HeadLimits:
    return HeadLimits(
        max_head_bytes=settings.server.max_header_bytes,
        head_timeout=settings.server.header_timeout_seconds,
    )


def _shared_options(settings: Settings, tls: LocalTLS | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        # X-Forwarded-For is honoured only from these addresses (the reverse proxy).
        "proxy_headers": True,
        "forwarded_allow_ips": settings.server.forwarded_allow_ips,
        "log_level": settings.log_level.lower(),
        "log_config": None,  # its loggers reach Butler's handler (butler.logs) instead
    }
    if tls is not None:
        options.update(ssl_certfile=str(tls.certificate), ssl_keyfile=str(tls.key))
    return options


def _run_workers(
    settings: Settings, dsn: str, *, host: str, port: int, tls: LocalTLS | None
) -> None:
    """Several API processes on one socket (the API keeps no state between requests)."""
    os.environ[WORKER_DSN_VARIABLE] = dsn
    _share_metrics(settings.data_dir / "metrics")
    config = uvicorn.Config(
        "butler.api.worker:create_worker_app",
        factory=True,
        host=host,
        port=port,
        workers=settings.server.workers,
        **_shared_options(settings, tls),
    )
    guard(config, head_limits(settings))
    socket = config.bind_socket()
    Multiprocess(config, sockets=[socket]).run()


def _share_metrics(folder: Path) -> None:
    """Each worker process writes its counts to files here and /metrics in any of them
    sums them all; emptied first, as counts of a previous run would be added in."""
    if os.environ.get(MULTIPROCESS_DIR):
        return  # the operator chose the folder (and its lifetime)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROCESS_DIR] = str(folder)


class _StopRequested(Exception):
    """Raised from a signal handler so that every `with` block unwinds on SIGTERM/SIGINT."""


def _request_stop(signum: int, frame: object) -> None:
    raise _StopRequested


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Run until SIGINT or SIGTERM, then stop uvicorn and the embedded database cleanly.

    uvicorn shuts down gracefully on those signals and then re-raises them to the
    handler that was installed before it; ours turns that into an ordinary return
    instead of the default SIGTERM action, which would kill the process before the
    embedded PostgreSQL is stopped.
    """
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    database_gave_up: list[str] = []

    def give_up(reason: str) -> None:
        # From the supervisor's thread: stop the way SIGTERM does, then say why.
        database_gave_up.append(reason)
        os.kill(os.getpid(), signal.SIGTERM)

    try:
        _serve(settings, host=host, port=port, on_database_give_up=give_up)
    except _StopRequested:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if database_gave_up:
        raise ConfigError(
            f"{database_gave_up[0]}. Its log is {settings.data_dir / 'postgres' / 'log'}."
        )
    log.info("Butler stopped")


def _serve(
    settings: Settings, *, host: str, port: int, on_database_give_up: Callable[[str], None]
) -> None:
    database_url = settings.database_url.get_secret_value() if settings.database_url else None
    # Only the embedded database needs one server per folder; with an external database
    # several API processes may share it.
    lock = (
        exclusive_serve_lock(settings.data_dir)
        if database_url is None
        else contextlib.nullcontext()
    )
    tls = local_tls(settings, host)
    with (
        lock,
        open_database(settings.data_dir, database_url, on_give_up=on_database_give_up) as dsn,
        voice_stack(settings, host=host, port=port, tls=tls),
    ):
        migrate.upgrade(dsn)
        invite = asyncio.run(first_admin_invite(dsn, timedelta(days=settings.auth.invite_ttl_days)))
        address = public_address(settings, host, port, tls)
        if invite is not None:
            announce_invite(invite, address)
        if tls is not None:
            announce_home_network(address)
        if settings.server.workers > 1:
            _run_workers(settings, dsn, host=host, port=port, tls=tls)
        else:
            uvicorn.Server(uvicorn_config(settings, dsn, host=host, port=port, tls=tls)).run()


def local_tls(settings: Settings, host: str) -> LocalTLS | None:
    """With `tls = local`: the certificate for every address the server is reached at."""
    if settings.server.tls != "local":
        return None
    addresses = [a for a in (host, settings.livekit.node_ip) if a not in _ANY_ADDRESS]
    return ensure_certificate(settings.data_dir, addresses)


def public_address(settings: Settings, host: str, port: int, tls: LocalTLS | None) -> str:
    """Where people open Butler: the home-network address when it listens there."""
    scheme = "https" if tls is not None else "http"
    shown = settings.livekit.node_ip if host in _ANY_ADDRESS else host
    return f"{scheme}://{bracketed(shown)}:{port}"


def announce_home_network(address: str) -> None:
    print(
        f"\nButler is on your home network at {address}\n"
        "On each phone or computer, open that address. To make the browser trust it (no\n"
        f"warning, and the app installable), install {address}/ca.crt once: see the README,\n"
        "'Talking from a phone'.\n",
        flush=True,
    )


@contextlib.contextmanager
def voice_stack(
    settings: Settings, *, host: str, port: int, tls: LocalTLS | None = None
) -> Iterator[None]:
    """With no LiveKit URL configured, a supervised LiveKit server and voice worker for
    as long as the API runs; with one, nothing (workers run as `butler voice`)."""
    if not settings.livekit.embedded:
        yield
        return
    scheme = "https" if tls is not None else "http"
    stack = LocalStack(
        settings,
        api_url=f"{scheme}://{local_address(host)}:{port}",
        api_authority=tls.authority if tls is not None else None,
    )
    stack.start()
    try:
        yield
    finally:
        stack.stop()


_ANY_ADDRESS = {"", "0.0.0.0", "::"}  # noqa: S104 (comparing, not binding)


def local_address(host: str) -> str:
    """Where a process on this machine reaches an API listening on `host`."""
    if host in _ANY_ADDRESS or host == "localhost":
        return "127.0.0.1"
    return bracketed(host)
