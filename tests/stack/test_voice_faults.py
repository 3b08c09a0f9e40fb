"""Faults in the local voice stack: a killed worker or LiveKit server is restarted by
`butler serve` and the next session works; a Butler API that is down is apologised for
aloud by a worker in a room."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.fakes.wire import AnthropicWire, Reply
from tests.livekit_server import LiveKitServer
from tests.stack.conftest import LiveStack, restarted
from tests.stack.room_client import VoiceClient, voice_token
from tests.support import (
    LIVEKIT_KEY,
    LIVEKIT_SECRET,
    Account,
    claude_at,
    free_port,
    live_server,
    make_settings,
    register,
)
from tests.voice.conftest import Speech


def _answered(api_url: str, account: Account, speech: Speech, within: float = 60) -> list[str]:
    """One voice session: say `speech`, return what the butler said (final transcripts)."""
    grant = voice_token(api_url, account.access_token)

    async def session() -> list[str]:
        async with VoiceClient(grant["livekit_url"], grant["livekit_token"]) as client:
            assert await client.wait_for_state("listening", within), client.record.states
            await asyncio.sleep(0.5)
            ended = await client.say(*speech)
            await client.wait_for_silence(ended, quiet_seconds=1.5, within=40)
            await asyncio.sleep(1.0)
            return client.record.butler_said(client.identity)

    return asyncio.run(session())


def test_a_killed_worker_is_restarted_and_the_next_session_works(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
) -> None:
    account = register(live_stack.api_url, dsn)
    wire.default = Reply.say("The porch light is on.")
    old = live_stack.child_pid("voice-worker")
    os.killpg(old, signal.SIGKILL)  # the worker and its job processes, as a crash would
    new = restarted(live_stack, "voice-worker", old)
    assert new != old
    assert live_stack.ready()["voice"] == {"livekit": "up", "worker": "up"}
    said = _answered(live_stack.api_url, account, speak("Is the porch light on?"))
    assert any("porch light is on" in s for s in said), said


def test_a_restarted_livekit_server_comes_back_with_its_worker(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
) -> None:
    account = register(live_stack.api_url, dsn)
    wire.default = Reply.say("The kettle has boiled.")
    old = live_stack.child_pid("livekit")
    os.kill(old, signal.SIGKILL)
    restarted(live_stack, "livekit", old)
    # The worker reconnects and registers again before voice is reported ready.
    said = _answered(live_stack.api_url, account, speak("Has the kettle boiled?"))
    assert any("kettle has boiled" in s for s in said), said


@pytest.fixture
def worker_against(tmp_path: Path) -> Iterator[Callable[[LiveKitServer, str], None]]:
    """`butler voice` as production runs it: its own process, told where LiveKit and the
    API are."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(livekit: LiveKitServer, api_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BUTLER_", "LIVEKIT_"))}
        env.pop("GROQ_API_KEY", None)
        health = free_port()
        env.update(
            {
                "BUTLER_LIVEKIT__URL": livekit.url,
                "BUTLER_LIVEKIT__API_KEY": LIVEKIT_KEY,
                "BUTLER_LIVEKIT__API_SECRET": LIVEKIT_SECRET,
                "BUTLER_LIVEKIT__WORKER_HEALTH_PORT": str(health),
                "BUTLER_API_URL": api_url,
                "BUTLER_STT__PROVIDER": "local",
                "BUTLER_TTS__PROVIDER": "piper",
                "BUTLER_VOICE__API_TIMEOUT_SECONDS": "2",
                "BUTLER_VOICE__AEC_WARMUP_SECONDS": "0",
                "BUTLER_DATA_DIR": str(tmp_path),
            }
        )
        log = (tmp_path / "worker.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "butler", "voice"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        import httpx

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{health}/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        pytest.fail(f"the worker did not register: {(tmp_path / 'worker.log').read_text()}")

    yield start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_with_the_api_down_the_butler_apologises_aloud(
    livekit: LiveKitServer,
    dsn: str,
    anthropic_wire: AnthropicWire,
    worker_against: Callable[[LiveKitServer, str], None],
    speak: Callable[..., Speech],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = make_settings(
        tmp_path_factory.mktemp("api-down"),
        llm=claude_at(anthropic_wire.base_url),
        livekit=livekit.settings,
    )
    with live_server(settings, dsn) as api_url:
        worker_against(livekit, api_url)
        account = register(api_url, dsn)
        grant = voice_token(api_url, account.access_token)
        question = speak("What is the weather like?")

        async def session() -> list[str]:
            async with VoiceClient(grant["livekit_url"], grant["livekit_token"]) as client:
                assert await client.wait_for_state("listening", 60), client.record.states
                stop_api.set()  # the worker is in; now the API goes away
                await asyncio.to_thread(api_stopped.wait, 30)
                ended = await client.say(*question)
                await client.wait_for_silence(ended, quiet_seconds=1.5, within=40)
                await asyncio.sleep(1.0)
                return client.record.butler_said(client.identity)

        import threading

        stop_api, api_stopped = threading.Event(), threading.Event()
        result: list[list[str]] = []
        runner = threading.Thread(target=lambda: result.append(asyncio.run(session())))
        runner.start()
        stop_api.wait(timeout=90)
    api_stopped.set()  # live_server has stopped the API
    runner.join(timeout=120)
    said = result[0] if result else []
    assert any("can't think straight" in s for s in said), said
