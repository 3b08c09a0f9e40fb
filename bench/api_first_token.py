"""Butler API overhead to the first streamed token.

Measures, in one run:
  baseline  the Anthropic SDK streaming straight from the local wire stub
  butler    POST /api/chat/stream through Butler (auth, context from PostgreSQL with a
            week of history and 1,000 facts, prompt building, SDK, SSE) to the first
            text_delta byte
and reports the overhead (butler minus baseline, which removes the stub's own
first-token delay), single requests and 50 at once.

    .venv/bin/python bench/api_first_token.py [--requests 200] [--concurrency 50] [--home]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import anthropic
import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.home_assistant import TOKEN, FakeHomeAssistant  # noqa: E402
from tests.support import free_port  # noqa: E402

from bench.common import percentile, wait_http  # noqa: E402
from bench.home_fast_path import big_house  # noqa: E402
from butler.auth import invites  # noqa: E402
from butler.db import migrate  # noqa: E402
from butler.db.embedded import EmbeddedPostgres  # noqa: E402
from butler.memory.embeddings import LOCAL_MODEL_ID  # noqa: E402
from butler.users.models import Role  # noqa: E402

PASSWORD = "benchmark passphrase"


def row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{label:<34} n={len(ms):<4} p50={percentile(ms, 50):7.1f} ms  "
        f"p95={percentile(ms, 95):7.1f} ms  p99={percentile(ms, 99):7.1f} ms  "
        f"mean={statistics.fmean(ms):7.1f} ms"
    )


async def seed(dsn: str, user_id: str, facts: int, history_days: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rng = random.Random(7)
        await conn.executemany(
            "INSERT INTO butler.user_facts"
            " (user_id, fact, category, confidence, embedding, embedding_model)"
            " VALUES ($1, $2, 'general', $3, $4::vector, $5)",
            [
                (
                    user_id,
                    f"Fact number {n}: likes item {rng.randint(0, 10_000)}",
                    rng.random(),
                    "[" + ",".join(f"{rng.random():.4f}" for _ in range(384)) + "]",
                    LOCAL_MODEL_ID,
                )
                for n in range(facts)
            ],
        )
        rows = []
        for day in range(history_days):
            for turn in range(40):
                age = timedelta(days=day, minutes=turn * 10)
                rows.append((user_id, "user", f"question {day}/{turn}", age))
                rows.append((user_id, "assistant", f"answer {day}/{turn} " * 5, age))
        await conn.executemany(
            "INSERT INTO butler.conversation_history (user_id, channel, role, content, created_at)"
            " VALUES ($1, 'text', $2, $3, now() - $4::interval)",
            rows,
        )
    finally:
        await conn.close()


async def new_invite(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        invite = await invites.create(conn, role=Role.ADMIN, ttl=timedelta(hours=1))
        return invite.code
    finally:
        await conn.close()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its running descendants (the API's worker
    processes), from /proc (Linux)."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue  # the process ended meanwhile
    family, changed = {pid}, True
    while changed:
        grown = family | {p for p, f in stats.items() if int(f[1]) in family}
        changed, family = grown != family, grown
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in family if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


async def _direct(client: anthropic.AsyncAnthropic) -> float:
    start = time.perf_counter()
    stream = await client.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
    )
    elapsed = 0.0
    async with stream:
        async for event in stream:
            if not elapsed and event.type == "content_block_delta":
                elapsed = time.perf_counter() - start
    return elapsed


async def baseline(stub_url: str, n: int, concurrency: int) -> list[float]:
    """The SDK straight to the stub: what any client pays, Butler or not."""
    client = anthropic.AsyncAnthropic(api_key="bench", base_url=stub_url, max_retries=0)
    times: list[float] = []
    for start in range(0, n, concurrency):
        batch = min(concurrency, n - start)
        times.extend(await asyncio.gather(*(_direct(client) for _ in range(batch))))
    await client.close()
    return times


_asked = itertools.count()


async def first_token(client: httpx.AsyncClient, token: str, errors: list[str]) -> float | None:
    # Every message differs, so no cache inside Butler can answer for the work it measures.
    message = f"Turn off the kitchen lights and remind me about item {next(_asked)}"
    start = time.perf_counter()
    try:
        async with client.stream(
            "POST",
            "/api/chat/stream",
            json={"message": message},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}")
                return None
            elapsed = None
            async for line in response.aiter_lines():
                if elapsed is None and line.startswith("event: text_delta"):
                    elapsed = time.perf_counter() - start
                if line.startswith("event: error"):
                    errors.append("error event")
                    return None
            return elapsed
    except httpx.HTTPError as exc:
        errors.append(type(exc).__name__)
        return None


async def measure(api: str, token: str, n: int, concurrency: int) -> tuple[list[float], list[str]]:
    errors: list[str] = []
    times: list[float] = []
    limits = httpx.Limits(max_connections=concurrency + 5)
    async with httpx.AsyncClient(base_url=api, timeout=60, limits=limits) as client:
        for start in range(0, n, concurrency):
            batch = min(concurrency, n - start)
            results = await asyncio.gather(
                *(first_token(client, token, errors) for _ in range(batch))
            )
            times.extend(t for t in results if t is not None)
    return times, errors


def wait_for_home(api_url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(100):
        found = httpx.get(f"{api_url}/api/home/status", headers=headers).json()
        if found.get("state") == "connected":
            return
        time.sleep(0.1)
    raise SystemExit("Home Assistant did not connect")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--stub-delay", type=float, default=0.05)
    parser.add_argument("--facts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="API processes")
    parser.add_argument(
        "--home",
        action="store_true",
        help="with Home Assistant connected (a local one, 200 entities): every turn is "
        "first matched against the home's commands",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="butler-bench-") as tmp,
        EmbeddedPostgres(Path(tmp)) as pg,
        contextlib.ExitStack() as extras,
    ):
        migrate.upgrade(pg.dsn)
        stub_port, api_port = free_port(), free_port()
        stub = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.wire",
                "anthropic",
                str(stub_port),
                str(args.stub_delay),
            ],
            cwd=ROOT,
        )
        env = {
            **os.environ,
            "BUTLER_DATA_DIR": str(Path(tmp) / "settings"),
            "BUTLER_DATABASE_URL": pg.dsn,
            "BUTLER_LLM__API_KEY": "bench",
            "BUTLER_LLM__BASE_URL": f"http://127.0.0.1:{stub_port}",
            "BUTLER_LOG_LEVEL": "WARNING",
            "BUTLER_AUTH__RATE_LIMIT_PER_IP": "100000",
            # Learning runs after the reply, off the measured path; it would also double
            # the stub's requests, which the baseline does not make.
            "BUTLER_MEMORY__LEARNING": "false",
            # No voice here: no embedded LiveKit server and worker.
            "BUTLER_LIVEKIT__URL": "ws://127.0.0.1:9",
        }
        if args.home:
            home = extras.enter_context(FakeHomeAssistant(big_house()).running())
            env |= {"BUTLER_HOME_ASSISTANT__URL": home.url, "BUTLER_HOME_ASSISTANT__TOKEN": TOKEN}
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "butler",
                "serve",
                "--port",
                str(api_port),
                "--workers",
                str(args.workers),
            ],
            env=env,
        )
        stub_url, api_url = f"http://127.0.0.1:{stub_port}", f"http://127.0.0.1:{api_port}"
        try:
            wait_http(stub_url, stub)
            wait_http(api_url + "/healthz", api)
            code = asyncio.run(new_invite(pg.dsn))
            session = httpx.post(
                f"{api_url}/api/auth/register",
                json={
                    "code": code,
                    "username": "bench",
                    "display_name": "Bench",
                    "password": PASSWORD,
                },
            ).json()
            asyncio.run(seed(pg.dsn, session["user"]["id"], args.facts, 7))
            token = session["access_token"]
            if args.home:
                wait_for_home(api_url, token)

            # Warm both paths (connections, prepared statements, imports).
            asyncio.run(baseline(stub_url, 5, 1))
            asyncio.run(measure(api_url, token, 5, 1))

            base = asyncio.run(baseline(stub_url, args.requests, 1))
            single, single_errors = asyncio.run(measure(api_url, token, args.requests, 1))
            base_crowd = asyncio.run(baseline(stub_url, args.requests, args.concurrency))
            cpu_before = process_cpu_seconds(api.pid)
            crowd, crowd_errors = asyncio.run(
                measure(api_url, token, args.requests, args.concurrency)
            )
            cpu_per_turn = (process_cpu_seconds(api.pid) - cpu_before) / args.requests
        finally:
            api.terminate()
            stub.terminate()
            api.wait(30)
            stub.wait(30)

    print(
        f"\nfirst-token latency, stub first-token delay {args.stub_delay * 1000:.0f} ms, "
        f"{args.facts} facts and 7 days x 40 turns of history"
        + (", Home Assistant connected (200 entities)" if args.home else "")
    )
    print(row("baseline: SDK to stub, single", base))
    print(row("butler: single", single))
    print(row(f"baseline: SDK to stub, {args.concurrency} at once", base_crowd))
    print(row(f"butler: {args.concurrency} at once", crowd))
    overhead_p50 = (percentile(single, 50) - percentile(base, 50)) * 1000
    overhead_p99c = (percentile(crowd, 99) - percentile(base_crowd, 99)) * 1000
    print(f"\noverhead single p50                 {overhead_p50:6.1f} ms   (goal <= 15 ms)")
    print(
        f"overhead {args.concurrency} at once p99 (vs baseline) "
        f"{overhead_p99c:6.1f} ms   (goal <= 100 ms)"
    )
    print(
        f"ratio butler/baseline p50 single     {percentile(single, 50) / percentile(base, 50):.2f}x"
    )
    print(
        f"ratio butler/baseline p99 {args.concurrency} at once "
        f"{percentile(crowd, 99) / percentile(base_crowd, 99):.2f}x"
    )
    print(f"Butler API CPU per streamed turn     {cpu_per_turn * 1000:.1f} ms")
    print(f"errors: single {len(single_errors)}, concurrent {len(crowd_errors)}")
    if single_errors or crowd_errors:
        print("  " + ", ".join(sorted(set(single_errors + crowd_errors))))


if __name__ == "__main__":
    main()
