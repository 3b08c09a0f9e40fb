"""What the benchmarks share: percentiles and waiting for a server to answer."""

from __future__ import annotations

import subprocess
import time

import httpx


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
