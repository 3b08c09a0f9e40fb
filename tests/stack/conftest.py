"""The whole local stack as `make run` starts it: `butler serve` with no LiveKit URL,
so it runs and supervises the real LiveKit server and the voice worker (local whisper
and Piper), here on free ports, with Claude's wire format served on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.fakes.wire import AnthropicWire
from tests.livekit_server import free_udp_port
from tests.support import JWT_SECRET, free_port
from tests.voice.conftest import local_stt, speak

__all__ = ["local_stt", "speak"]  # the voice suite's fixtures, used here too

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveStack:
    api_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    livekit_port: int
    worker_health_port: int

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """How a client checks the API's certificate: against the authority Butler made
        when it serves HTTPS with its own (`--lan`)."""
        authority = self.data_dir / "tls" / "ca.pem"
        if not self.api_url.startswith("https") or not authority.exists():
            return True
        return ssl.create_default_context(cafile=authority)

    def ready(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.api_url}/readyz", timeout=5, verify=self.verify)
        body: dict[str, Any] = answer.json()
        return body

    def wait_voice_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.ready().get("voice") == {"livekit": "up", "worker": "up"}:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}"
            for p in sorted((self.data_dir / "stack").glob("*.log"))
        )
        pytest.fail(f"the voice stack did not come up:\n{logs}")

    def child_pid(self, name: str) -> int:
        return int((self.data_dir / "stack" / f"{name}.pid").read_text().split()[0])


def stack_env(data_dir: Path, dsn: str, llm_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUTLER_", "LIVEKIT_"))}
    env.pop("GROQ_API_KEY", None)
    env.pop("ANTHROPIC_API_KEY", None)
    env.update(
        {
            "BUTLER_DATA_DIR": str(data_dir),
            "BUTLER_DATABASE_URL": dsn,
            "BUTLER_AUTH__JWT_SECRET": JWT_SECRET,
            "BUTLER_AUTH__RATE_LIMIT_PER_IP": "100000",
            "BUTLER_LLM__API_KEY": "sk-ant-test",
            "BUTLER_LLM__BASE_URL": llm_url,
            "BUTLER_LLM__TIMEOUT_SECONDS": "5",
            "BUTLER_MEMORY__LEARNING": "false",
            "BUTLER_LIVEKIT__PORT": str(free_port()),
            "BUTLER_LIVEKIT__RTC_UDP_PORT": str(free_udp_port()),
            "BUTLER_LIVEKIT__WORKER_HEALTH_PORT": str(free_port()),
            # A test client has no echo path: speech over the reply counts at once.
            "BUTLER_VOICE__AEC_WARMUP_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


def start_stack(data_dir: Path, env: dict[str, str], *, lan: str | None = None) -> LiveStack:
    """`butler serve` on a free port; with `lan`, as `butler serve --lan <lan>`."""
    port = free_port()
    log = (data_dir / "serve.log").open("ab")
    extra = ["--lan", lan] if lan else []
    process = subprocess.Popen(
        [sys.executable, "-m", "butler", "serve", "--port", str(port), *extra],
        env=env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stack = LiveStack(
        f"https://[{lan}]:{port}" if lan else f"http://127.0.0.1:{port}",
        data_dir,
        process,
        int(env["BUTLER_LIVEKIT__PORT"]),
        int(env["BUTLER_LIVEKIT__WORKER_HEALTH_PORT"]),
    )
    stack.wait_voice_ready()
    return stack


def stop_stack(stack: LiveStack) -> None:
    stack.process.send_signal(signal.SIGTERM)
    try:
        stack.process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait()


@pytest.fixture(scope="module")
def live_stack(
    dsn: str, anthropic_wire: AnthropicWire, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    data_dir = tmp_path_factory.mktemp("stack")
    stack = start_stack(data_dir, stack_env(data_dir, dsn, anthropic_wire.base_url))
    yield stack
    stop_stack(stack)


def restarted(stack: LiveStack, name: str, old_pid: int, within: float = 90) -> int:
    """Wait until the supervisor has replaced child `name` and voice is ready again."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            pid = stack.child_pid(name)
        except (FileNotFoundError, ValueError):
            pid = old_pid
        if pid != old_pid:
            stack.wait_voice_ready(timeout=within)
            return pid
        time.sleep(0.2)
    pytest.fail(f"{name} was not restarted")
