"""What the benchmarks share: percentiles, local service stubs, a Butler API process, and
waiting for a server to answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.support import free_port


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def wait_http(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Return once `url` answers; fail if `process` exits first or after 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"process for {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def start_service_stubs(
    root: Path, llm_ms: int, stt_ms: int, tts_ms: int
) -> tuple[list[subprocess.Popen[bytes]], str, str]:
    """Claude's wire format and the speech services on 127.0.0.1, with fixed delays:
    (processes, LLM URL, speech /v1 URL). Stop the processes when done."""
    llm_port, speech_port = free_port(), free_port()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.wire",
                "anthropic",
                str(llm_port),
                str(llm_ms / 1000),
            ],
            cwd=root,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.speech_services",
                str(speech_port),
                str(stt_ms / 1000),
                str(tts_ms / 1000),
            ],
            cwd=root,
        ),
    ]
    return processes, f"http://127.0.0.1:{llm_port}", f"http://127.0.0.1:{speech_port}/v1"


def start_butler_api(
    data_dir: Path, dsn: str, llm_url: str, jwt_secret: str, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`butler serve` on a free port, on `dsn`, with the LLM at `llm_url` and no LiveKit
    (the harness needs none): (process, API URL). Terminate the process when done."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "butler", "serve", "--port", str(port)],
        env={
            **os.environ,
            "BUTLER_DATA_DIR": str(data_dir),
            "BUTLER_DATABASE_URL": dsn,
            "BUTLER_AUTH__JWT_SECRET": jwt_secret,
            "BUTLER_LLM__API_KEY": "bench",
            "BUTLER_LLM__BASE_URL": llm_url,
            "BUTLER_LOG_LEVEL": "WARNING",
            # No embedded LiveKit server and worker.
            "BUTLER_LIVEKIT__URL": "ws://127.0.0.1:9",
            **(extra_env or {}),
        },
    )
    api_url = f"http://127.0.0.1:{port}"
    wait_http(api_url + "/healthz", process)
    return process, api_url
