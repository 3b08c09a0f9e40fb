"""Is voice available? Real probes of the LiveKit server and (embedded) the voice worker,
and, when they fail, what an admin should do about it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import httpx

from butler.config import LiveKitSettings
from butler.stack.livekit_server import INSTALL_HINT
from butler.stack.local_stack import LIVEKIT, WORKER, read_status

PROBE_SECONDS = 1.5


@dataclass(frozen=True)
class VoiceHealth:
    livekit: str  # "up", "down", "not installed"
    worker: str  # "up", "down", "external" (run elsewhere, not probed)
    fix: str  # for admins: what to do; empty when voice works

    @property
    def available(self) -> bool:
        return self.livekit == "up" and self.worker in {"up", "external"}


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


def _child_detail(status: dict[str, object], name: str) -> str:
    children = status.get("children")
    child = children.get(name) if isinstance(children, dict) else None
    if not isinstance(child, dict):
        return ""
    return f"{child.get('state', '?')}: {child.get('detail') or 'no detail'}"


async def voice_health(lk: LiveKitSettings, data_dir: Path) -> VoiceHealth:
    worker_url = (
        f"http://127.0.0.1:{lk.worker_health_port}/" if lk.embedded else lk.worker_health_url
    )
    async with httpx.AsyncClient(timeout=PROBE_SECONDS) as client:
        probes = [_answers(client, lk.http_url.rstrip("/") + "/")]
        if worker_url:
            probes.append(_answers(client, worker_url))
        results = await asyncio.gather(*probes)
    server_up = results[0]
    if not lk.embedded:
        fixes = []
        if not server_up:
            fixes.append(
                f"The LiveKit server at {lk.server_url} does not answer. Start it, or correct "
                "BUTLER_LIVEKIT__URL."
            )
        worker = "external"
        if worker_url:
            worker = "up" if results[1] else "down"
            if not results[1]:
                fixes.append(
                    f"The voice worker at {worker_url} is not registered with LiveKit: see "
                    "its log (`butler voice`), or correct BUTLER_LIVEKIT__WORKER_HEALTH_URL."
                )
        return VoiceHealth("up" if server_up else "down", worker, " ".join(fixes))
    worker_up = results[1]
    status = read_status(data_dir)
    if status.get("problem") and not server_up:
        return VoiceHealth("not installed", "down", INSTALL_HINT)
    fixes = []
    if not server_up:
        fixes.append(
            f"The embedded LiveKit server is not running ({_child_detail(status, LIVEKIT)}); "
            f"see {data_dir / 'stack' / 'livekit.log'}."
        )
    if not worker_up:
        fixes.append(
            f"The voice worker is not running ({_child_detail(status, WORKER)}); "
            f"see {data_dir / 'stack' / 'voice-worker.log'}."
        )
    return VoiceHealth(
        "up" if server_up else "down", "up" if worker_up else "down", " ".join(fixes)
    )
