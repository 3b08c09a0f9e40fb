"""End of speech in the published audio → first audio frame received, over a real room.

    tests/isolated_network.sh .venv/bin/python bench/voice_webrtc.py [--utterances 8]

The whole local stack as `butler serve` runs it (the real LiveKit server, the voice
worker, the Butler API), and a person in a room through the official rtc SDK; the
isolated network namespace keeps every packet on this machine. Cases, in one run:
(a) services holding the seed's budget (STT 50 ms, LLM first sentence 300 ms, TTS first
    chunk 150 ms, as local servers), over the room, and through the in-process harness
    (no transport) for the transport's cost;
(b) the local models (faster-whisper tiny.en, Piper) over the room;
(c) sessions at once with the services of (a): p95 per person while 1, 2, 3… people
    talk at the same time, until p95 passes 1.2 s (or --max-sessions);
(d) barge-in with the services of (a): the person speaks over the reply; from the
    first sound of their speech going out to the last loud frame of the butler's
    received before it fell silent (goal 300 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.stack.conftest import stack_env  # noqa: E402
from tests.stack.room_client import VoiceClient, voice_token  # noqa: E402
from tests.support import free_port  # noqa: E402

from bench.common import percentile, start_service_stubs, wait_http  # noqa: E402
from bench.voice_latency import (  # noqa: E402
    JWT_SECRET,
    LLM_MS,
    SENTENCES,
    STT_MS,
    TTS_MS,
    CaseFigures,
    make_user,
    open_voice_session,
    register,
    run_case,
    service_engines,
)
from butler.config import VoiceSettings  # noqa: E402
from butler.db import migrate  # noqa: E402
from butler.db.embedded import EmbeddedPostgres  # noqa: E402
from butler.voice.providers import build_vad  # noqa: E402
from butler.voice.simulated_io import read_wav  # noqa: E402

GOAL_P95 = 1.2
Speech = tuple[np.ndarray[Any, Any], int]


def speech_end(samples: np.ndarray[Any, Any], rate: int) -> float:
    """Seconds from the end of the clip back to its last sound (espeak trails silence)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 500)
    return (len(samples) - (loud[-1] + 1)) / rate if len(loud) else 0.0


def start_stack(
    tmp: Path, name: str, dsn: str, llm_url: str, speech_url: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    data = tmp / name
    data.mkdir()
    port = free_port()
    env = stack_env(
        data,
        dsn,
        llm_url,
        BUTLER_AUTH__JWT_SECRET=JWT_SECRET,  # the harness case signs its credential too
        BUTLER_LLM__API_KEY="bench",
        BUTLER_LOG_LEVEL="WARNING",
        BUTLER_VOICE__MAX_SESSIONS="16",
    )
    if speech_url:
        env.update(
            {
                "BUTLER_STT__PROVIDER": "openai",
                "BUTLER_STT__BASE_URL": speech_url,
                "BUTLER_STT__MODEL": "whisper-1",
                "BUTLER_STT__FALLBACK_TO_LOCAL": "false",
                "BUTLER_TTS__PROVIDER": "kokoro",
                "BUTLER_TTS__BASE_URL": speech_url,
                "BUTLER_TTS__FALLBACK_TO_LOCAL": "false",
            }
        )
    log = (data / "serve.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "butler", "serve", "--port", str(port)],
        env=env,
        cwd=data,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            voice = httpx.get(f"{api_url}/readyz", timeout=2).json().get("voice")
            if voice == {"livekit": "up", "worker": "up"}:
                return process, api_url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise SystemExit(f"the {name} stack did not come up; see {data}")


async def new_person(dsn: str, api_url: str, name: str) -> str:
    """Register someone and return their access token."""
    token: str = (await register(dsn, api_url, name))["access_token"]
    return token


@asynccontextmanager
async def in_room(api_url: str, token: str) -> AsyncIterator[VoiceClient | None]:
    """A fresh room with the butler; the person in it once the butler listens (None
    if it never does)."""
    grant = voice_token(api_url, token)
    async with VoiceClient(grant["livekit_url"], grant["livekit_token"]) as client:
        if not await client.wait_for_state("listening", 90):
            yield None
            return
        await asyncio.sleep(0.5)
        yield client


async def room_session(api_url: str, token: str, speech: list[Speech]) -> list[float]:
    """One person says each utterance in turn; end of speech -> first reply audio."""
    latencies: list[float] = []
    async with in_room(api_url, token) as client:
        if client is None:
            return latencies
        for samples, rate in speech:
            pushed = await client.say(samples, rate)
            ended = pushed - speech_end(samples, rate)
            first = await client.wait_for_audio(pushed, within=15)
            if first is not None:
                latencies.append(first - ended)
            await client.wait_for_silence(pushed, quiet_seconds=1.0, within=20)
            await asyncio.sleep(0.5)
    return latencies


async def barge_ins(
    api_url: str, token: str, question: Speech, interruption: Speech, trials: int
) -> list[float]:
    """Speak over the reply `trials` times: first sound out -> the butler's last loud
    frame received before a 0.2 s silence."""
    took: list[float] = []
    async with in_room(api_url, token) as client:
        if client is None:
            return took
        for _ in range(trials):
            pushed = await client.say(*question)
            if await client.wait_for_audio(pushed, within=15) is None:
                continue
            await asyncio.sleep(0.8)  # well into the reply (about 2.5 s of it)
            barge = asyncio.create_task(client.say(*interruption))
            await asyncio.sleep(0.05)  # its first frame goes out at once
            started = client.speech_started[-1]
            await barge
            await client.wait_for_silence(started, quiet_seconds=1.5, within=20)
            stopped = client.record.stopped_after(started, gap=0.2)
            if stopped is not None:
                took.append(stopped - started)
            await asyncio.sleep(0.5)
    return took


async def people_at_once(dsn: str, api_url: str, count: int, speech: list[Speech]) -> list[float]:
    tokens = [
        await new_person(dsn, api_url, f"p{count}x{n}{uuid.uuid4().hex[:4]}") for n in range(count)
    ]
    results = await asyncio.gather(*(room_session(api_url, t, speech) for t in tokens))
    return [value for person in results for value in person]


def row(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<46}   0  (no audio)"
    return (
        f"{label:<46} {len(values):>3} {percentile(values, 50) * 1000:>7.0f}ms "
        f"{percentile(values, 95) * 1000:>7.0f}ms {statistics.fmean(values) * 1000:>7.0f}ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--utterances", type=int, default=8)
    parser.add_argument("--max-sessions", type=int, default=4)
    parser.add_argument("--skip-local", action="store_true", help="no (b): local models")
    parser.add_argument("--barge-ins", type=int, default=8, help="(d): trials")
    args = parser.parse_args()
    espeak = shutil.which("espeak-ng")
    if not espeak:
        raise SystemExit("espeak-ng is needed: apt-get install espeak-ng")
    if os.environ.get("BUTLER_TEST_NETNS") != "1":
        print("note: not in the isolated namespace (run it through tests/isolated_network.sh)")

    with (
        tempfile.TemporaryDirectory(prefix="butler-webrtc-bench-") as folder,
        EmbeddedPostgres(Path(folder)) as pg,
    ):
        tmp = Path(folder)
        migrate.upgrade(pg.dsn)
        speech: list[Speech] = []
        for n, sentence in enumerate((SENTENCES * 3)[: args.utterances]):
            path = tmp / f"u{n}.wav"
            subprocess.run([espeak, "-s", "160", "-w", str(path), sentence], check=True)
            speech.append(read_wav(path))
        helpers, llm_url, speech_url = start_service_stubs(ROOT, LLM_MS, STT_MS, TTS_MS)
        stacks: list[subprocess.Popen[bytes]] = []
        results: dict[str, list[float]] = {}
        at_once: list[tuple[int, list[float]]] = []
        barge: list[float] = []
        try:
            wait_http(speech_url.removesuffix("/v1") + "/")
            services, services_api = start_stack(tmp, "services", pg.dsn, llm_url, speech_url)
            stacks.append(services)
            print("(a) over the room…", flush=True)
            token = asyncio.run(new_person(pg.dsn, services_api, "alone"))
            results["(a) seed budget, over a LiveKit room"] = asyncio.run(
                room_session(services_api, token, speech)
            )
            print("(a) in-process harness…", flush=True)
            user_id = asyncio.run(make_user(pg.dsn, services_api))
            credential = asyncio.run(open_voice_session(pg.dsn, uuid.UUID(user_id)))
            ours = VoiceSettings()
            engines = {**service_engines(speech_url), "vad": build_vad(ours)}
            results["(a) seed budget, in-process harness"] = asyncio.run(
                run_case(
                    "harness", speech, services_api, credential, engines, False, ours, CaseFigures()
                )
            )
            print("(d) barge-in over the room…", flush=True)
            token = asyncio.run(new_person(pg.dsn, services_api, "interrupter"))
            interruption = tmp / "stop.wav"
            subprocess.run(
                [espeak, "-s", "160", "-w", str(interruption), "Wait, stop."], check=True
            )
            barge = asyncio.run(
                barge_ins(services_api, token, speech[0], read_wav(interruption), args.barge_ins)
            )
            for count in range(1, args.max_sessions + 1):
                print(f"(c) {count} at once…", flush=True)
                values = asyncio.run(people_at_once(pg.dsn, services_api, count, speech[:4]))
                at_once.append((count, values))
                if not values or percentile(values, 95) > GOAL_P95:
                    break
            if not args.skip_local:
                services.send_signal(signal.SIGTERM)
                services.wait(60)
                local, local_api = start_stack(tmp, "local", pg.dsn, llm_url, None)
                stacks.append(local)
                print("(b) local models over the room…", flush=True)
                token = asyncio.run(new_person(pg.dsn, local_api, "local"))
                results["(b) local models, over a LiveKit room"] = asyncio.run(
                    room_session(local_api, token, speech)
                )
        finally:
            for process in [*stacks, *helpers]:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in [*stacks, *helpers]:
                process.wait(60)

    print(f"\nend of speech -> first reply audio received, {args.utterances} utterances")
    print(f"(a) services: STT {STT_MS} ms, LLM first sentence {LLM_MS} ms, TTS {TTS_MS} ms\n")
    print(f"{'case':<46} {'n':>3} {'p50':>9} {'p95':>9} {'mean':>9}")
    for label, values in results.items():
        print(row(label, values))
    room = results.get("(a) seed budget, over a LiveKit room") or []
    harness = results.get("(a) seed budget, in-process harness") or []
    if room and harness:
        cost = (percentile(room, 50) - percentile(harness, 50)) * 1000
        ratio = percentile(room, 50) / percentile(harness, 50)
        print(f"\ntransport's cost, p50: {cost:+.0f} ms ({ratio:.2f}x the harness); goal <= +30 ms")
    print("\n(d) barge-in: speech over the reply -> the butler's audio stops; goal p50 <= 300 ms")
    print(row("(d) barge-in, over a LiveKit room", barge))
    print(f"\n(c) sessions at once, seed budget; goal p95 <= {GOAL_P95 * 1000:.0f} ms")
    for count, values in at_once:
        print(row(f"{count} at once", values))


if __name__ == "__main__":
    main()
