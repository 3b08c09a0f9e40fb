"""The real LiveKit server for tests: the pinned binary that `make livekit` builds, run
with Butler's own loopback configuration and supervisor, on free ports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from livekit import api as livekit_api

from butler.config import LiveKitSettings
from butler.errors import ConfigError
from butler.stack.livekit_server import find_binary, server_config
from butler.stack.supervisor import ChildSpec, State, SupervisedProcess
from tests.support import LIVEKIT_KEY, LIVEKIT_SECRET, Account, free_port


@dataclass(frozen=True)
class LiveKitServer:
    settings: LiveKitSettings
    process: SupervisedProcess

    @property
    def url(self) -> str:
        return self.settings.server_url


def free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_settings() -> LiveKitSettings:
    """Embedded-style settings on free ports, with the test keys."""
    return LiveKitSettings(
        api_key=LIVEKIT_KEY,
        api_secret=LIVEKIT_SECRET,
        port=free_port(),
        rtc_udp_port=free_udp_port(),
        worker_health_port=free_port(),
    )


@contextmanager
def running_livekit(folder: Path, *, webhook_url: str | None = None) -> Iterator[LiveKitServer]:
    settings = loopback_settings()
    try:
        binary = find_binary(settings)
    except ConfigError as exc:
        pytest.fail(f"the LiveKit server is needed (make test builds it): {exc.message}")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "livekit.yaml"
    config.write_text(
        server_config(
            settings, api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET, webhook_url=webhook_url
        )
    )
    process = SupervisedProcess(
        ChildSpec(
            name="livekit-server",
            argv=[str(binary), "--config", str(config)],
            env={},
            log_path=folder / "livekit.log",
            pid_path=folder / "livekit.pid",
            healthy=lambda: httpx.get(f"http://127.0.0.1:{settings.port}/").status_code == 200,
            startup_seconds=20,
        )
    )
    process.start()
    if process.wait_until({State.RUNNING, State.FATAL}, 30) is not State.RUNNING:
        process.stop()
        pytest.fail(f"the LiveKit server did not start: {(folder / 'livekit.log').read_text()}")
    try:
        yield LiveKitServer(settings.model_copy(update={"url": settings.server_url}), process)
    finally:
        process.stop()


def dispatched_credential(account: Account) -> tuple[str, str]:
    """Open a voice session as the app does, and read the worker's credential from the
    agent dispatch on the LiveKit server, where the worker gets it: (credential, room)."""
    response = account.client.post("/api/auth/token", headers=account.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    room, url = body["room_name"], "http" + body["livekit_url"][2:]

    async def dispatches() -> list[livekit_api.AgentDispatch]:
        async with livekit_api.LiveKitAPI(url, LIVEKIT_KEY, LIVEKIT_SECRET) as client:
            found: list[livekit_api.AgentDispatch] = await client.agent_dispatch.list_dispatch(
                room_name=room
            )
            return found

    with ThreadPoolExecutor(max_workers=1) as pool:
        found = pool.submit(asyncio.run, dispatches()).result()
    butler = [d for d in found if d.agent_name == "butler"]
    assert len(butler) == 1, found
    credential: str = json.loads(butler[0].metadata)["voice_credential"]
    return credential, room
