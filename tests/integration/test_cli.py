"""The `butler` command as a person runs it: serve, invite beside it, production refusal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from butler.home.connection import HOME_TOKEN_PURPOSE
from butler.secret_box import SecretBox
from tests.fakes import speech_services
from tests.fakes.home_assistant import TOKEN, VERSION, FakeHomeAssistant
from tests.fakes.whatsapp_cloud import FakeWhatsAppCloud
from tests.fakes.wire import AnthropicWire, Reply, serving
from tests.livekit_server import LiveKitServer
from tests.support import DEAD_LIVEKIT_URL, PASSWORD, claude_at, free_port, metric, run

pytestmark = pytest.mark.slow

INVITE_PATTERN = re.compile(r"\b([0-9A-Z]{5}(?:-[0-9A-Z]{5}){4})\b")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    vendors = ("BUTLER_", "LIVEKIT_", "ANTHROPIC_", "OPENAI_", "GROQ_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(vendors)}
    env.update(
        {
            "BUTLER_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            # A LiveKit server elsewhere (not answering): no embedded voice stack here;
            # tests/stack runs that.
            "BUTLER_LIVEKIT__URL": DEAD_LIVEKIT_URL,
            **extra,
        }
    )
    return env


def _model_at(wire: AnthropicWire) -> dict[str, str]:
    """Settings for a model that answers: Claude's wire format on 127.0.0.1."""
    return {
        f"BUTLER_LLM__{key.upper()}": str(value) for key, value in claude_at(wire.base_url).items()
    }


def _butler(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "butler", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False


def _serve_log(data_dir: Path) -> Path:
    """Where `_serving` writes the server's output (a file: a pipe nobody reads fills up
    and blocks the server once it has logged 64 KiB)."""
    return data_dir.with_name(data_dir.name + "-serve.log")


@contextmanager
def _serving(data_dir: Path, port: int, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `butler serve`; yield the process and what it printed until it was ready."""
    log_path = _serve_log(data_dir)
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "butler", "serve", "--port", str(port), *extra],
            env=_env(data_dir),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 90
        while "Uvicorn running" not in (output := log_path.read_text()):
            if process.poll() is not None:
                raise AssertionError("butler serve exited:\n" + output)
            if time.monotonic() > deadline:
                raise AssertionError("butler serve did not start:\n" + output)
            time.sleep(0.1)
        # With several workers the parent reports the socket before a worker listens.
        while not _answers(f"http://127.0.0.1:{port}/healthz"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("butler serve never answered:\n" + log_path.read_text())
            time.sleep(0.1)
        yield process, output
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_serve_prints_an_admin_invite_that_registers_the_first_admin(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _serving(tmp_path, port) as (process, output):
        match = INVITE_PATTERN.search(output)
        assert match, output
        registered = httpx.post(
            f"{base}/api/auth/register",
            json={
                "code": match.group(1),
                "username": "alice",
                "display_name": "Alice",
                "password": PASSWORD,
            },
        )
        assert registered.status_code == 201, registered.text
        assert registered.json()["user"]["role"] == "admin"
        assert httpx.get(f"{base}/readyz").status_code == 200

        # A second server on the same data folder refuses instead of sharing it.
        second = _butler("serve", "--port", str(free_port()), env=_env(tmp_path), timeout=60)
        assert second.returncode == 2
        assert "already running" in second.stderr
        assert "Traceback" not in second.stderr

        # `butler invite` works beside the running server, on the same database.
        invite = _butler("invite", env=_env(tmp_path))
        assert invite.returncode == 0, invite.stderr
        code = invite.stdout.strip()
        assert INVITE_PATTERN.fullmatch(code)
        bob = httpx.post(
            f"{base}/api/auth/register",
            json={"code": code, "username": "bob", "display_name": "Bob", "password": PASSWORD},
        )
        assert bob.status_code == 201
        assert bob.json()["user"]["role"] == "member"
        assert httpx.get(f"{base}/readyz").status_code == 200, (
            "invite must not stop the server's database"
        )
    assert process.returncode == 0
    # Stopping the server stopped the embedded PostgreSQL.
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()

    # With the server stopped, the CLI starts the database itself and stops it again.
    offline = _butler("invite", "--admin", "--expires", "12h", env=_env(tmp_path))
    assert offline.returncode == 0, offline.stderr
    assert "admin invite" in offline.stderr
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()

    # Accounts survive a restart; no new first-admin invite once someone has registered.
    with _serving(tmp_path, port) as (_, output):
        assert not INVITE_PATTERN.search(output)
        login = httpx.post(
            f"{base}/api/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        assert login.status_code == 200


def test_serve_with_several_workers_shares_sessions_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _serving(tmp_path, port, "--workers", "2") as (process, output):
        match = INVITE_PATTERN.search(output)
        assert match, output
        client = httpx.Client(base_url=base)
        registered = client.post(
            "/api/auth/register",
            json={
                "code": match.group(1),
                "username": "ann",
                "display_name": "Ann",
                "password": PASSWORD,
            },
        )
        assert registered.status_code == 201, registered.text
        token = registered.json()["access_token"]
        # Whichever process answers, the session holds: the state is in PostgreSQL.
        for _ in range(10):
            me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200
            refreshed = client.post("/api/auth/refresh")
            assert refreshed.status_code == 200, refreshed.text
            token = refreshed.json()["access_token"]
        # /metrics sums every process's counts, whichever process answers.
        for _ in range(3):
            scraped = client.get("/metrics")
            assert scraped.status_code == 200
            answered = metric(
                scraped.text,
                "butler_http_request_duration_seconds_count",
                method="GET",
                route="/api/users/me",
                status="200",
            )
            assert answered == 10, scraped.text[-2000:]
    assert process.returncode == 0
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    bad = _butler("serve", "--workers", "0", env=_env(tmp_path))
    assert bad.returncode == 2 and "--workers" in bad.stderr


def test_production_mode_refuses_default_secrets_and_names_them(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        BUTLER_MODE="production",
        BUTLER_AUTH__JWT_SECRET="changeme",
        LIVEKIT_API_KEY="devkey",
        LIVEKIT_API_SECRET="secret",
    )
    result = _butler("serve", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    for name in ("BUTLER_AUTH__JWT_SECRET", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        assert name in result.stderr
    assert "changeme" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "postgres").exists(), "nothing may start before the check"


def test_invalid_settings_and_arguments_say_what_to_fix(tmp_path: Path) -> None:
    bad_port = _butler("doctor", env=_env(tmp_path, BUTLER_SERVER__PORT="eighty"))
    assert bad_port.returncode == 2
    assert "BUTLER_SERVER__PORT" in bad_port.stderr
    bad_duration = _butler("invite", "--expires", "soon", env=_env(tmp_path))
    assert bad_duration.returncode == 2
    assert "30m, 12h, 7d or 2w" in bad_duration.stderr
    not_an_address = _butler("serve", "--lan", "my-laptop", env=_env(tmp_path))
    assert not_an_address.returncode == 2
    assert "--lan takes this machine's IP address" in not_an_address.stderr
    assert not (tmp_path / "postgres").exists(), "nothing may start before the check"


def test_doctor_checks_the_embedding_model_and_the_voice_server(
    tmp_path: Path, wire: AnthropicWire
) -> None:
    assert _butler("migrate", env=_env(tmp_path)).returncode == 0
    # Empty LiveKit URL: the embedded stack.
    embedded = _env(tmp_path, BUTLER_LIVEKIT__URL="", **_model_at(wire))
    healthy = _butler("doctor", env=embedded)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "[ok] embeddings: local all-MiniLM-L6-v2 (int8 ONNX, checksum ok" in healthy.stdout
    assert "[ok] LiveKit server: " in healthy.stdout
    assert "(starts with `butler serve`)" in healthy.stdout
    assert "[ok] end of turn: text+smart-turn (smart-turn v3.2, on this machine)" in healthy.stdout
    no_model = _butler(
        "doctor", env={**embedded, "BUTLER_VOICE__SMART_TURN_MODEL": str(tmp_path / "none.onnx")}
    )
    assert no_model.returncode == 1
    assert "[FAIL] end of turn: the Smart Turn model is not at" in no_model.stdout
    assert "make setup" in no_model.stdout
    missing = _butler(
        "doctor", env={**embedded, "BUTLER_LIVEKIT__SERVER_BINARY": str(tmp_path / "nothing")}
    )
    assert missing.returncode == 1
    assert "[FAIL] LiveKit server: BUTLER_LIVEKIT__SERVER_BINARY" in missing.stdout
    down = _butler("doctor", env=_env(tmp_path))
    assert down.returncode == 1
    assert f"[FAIL] LiveKit server: {DEAD_LIVEKIT_URL}: down" in down.stdout
    assert "correct BUTLER_LIVEKIT__URL" in down.stdout
    unset = _butler("doctor", env={**embedded, "BUTLER_MEMORY__EMBEDDING_PROVIDER": "openai"})
    assert unset.returncode == 1
    assert "[FAIL] embeddings" in unset.stdout
    assert "BUTLER_MEMORY__EMBEDDING_BASE_URL" in unset.stdout


def test_doctor_signs_in_to_home_assistant(tmp_path: Path, wire: AnthropicWire) -> None:
    assert _butler("migrate", env=_env(tmp_path)).returncode == 0
    embedded = _env(tmp_path, BUTLER_LIVEKIT__URL="", **_model_at(wire))
    with FakeHomeAssistant().running() as home:
        signed_in = _butler(
            "doctor",
            env={
                **embedded,
                "BUTLER_HOME_ASSISTANT__URL": home.url,
                "BUTLER_HOME_ASSISTANT__TOKEN": TOKEN,
            },
        )
        assert (
            f"[ok] Home Assistant: {home.url} (set in the settings): version {VERSION}, signed in"
            in signed_in.stdout
        )
        assert signed_in.returncode == 0, signed_in.stdout
        refused = _butler(
            "doctor",
            env={
                **embedded,
                "BUTLER_HOME_ASSISTANT__URL": home.url,
                "BUTLER_HOME_ASSISTANT__TOKEN": "old",
            },
        )
        assert refused.returncode == 1
        assert (
            "[FAIL] Home Assistant" in refused.stdout
            and "long-lived access token" in refused.stdout
        )
        assert "stale-token-4242" not in refused.stdout + refused.stderr
    half = _butler("doctor", env={**embedded, "BUTLER_HOME_ASSISTANT__URL": "http://127.0.0.1:9"})
    assert half.returncode == 1
    assert "set BUTLER_HOME_ASSISTANT__TOKEN as well" in half.stdout


def test_doctor_checks_whatsapp(tmp_path: Path, wire: AnthropicWire) -> None:
    assert _butler("migrate", env=_env(tmp_path)).returncode == 0
    embedded = _env(tmp_path, BUTLER_LIVEKIT__URL="", **_model_at(wire))
    with FakeWhatsAppCloud().running() as cloud:
        settings = {
            f"BUTLER_WHATSAPP__{key.upper()}": str(value) for key, value in cloud.settings().items()
        }
        accepted = _butler("doctor", env={**embedded, **settings})
        assert "[ok] WhatsApp: number +1 555-000-1111 (Butler), token accepted" in accepted.stdout
        assert accepted.returncode == 0, accepted.stdout
        stale = {**settings, "BUTLER_WHATSAPP__ACCESS_TOKEN": "EAAold-token-4242"}
        refused = _butler("doctor", env={**embedded, **stale})
        assert refused.returncode == 1
        assert "[FAIL] WhatsApp" in refused.stdout and "ACCESS_TOKEN" in refused.stdout
        assert "EAAold-token-4242" not in refused.stdout + refused.stderr
    half = _butler("doctor", env={**embedded, "BUTLER_WHATSAPP__APP_SECRET": "s"})
    assert half.returncode == 1
    assert "BUTLER_WHATSAPP__ACCESS_TOKEN" in half.stdout and "as well" in half.stdout


def test_doctor_checks_the_connection_saved_in_the_app(tmp_path: Path, dsn: str) -> None:
    key = "doctor-test-encryption-key-0123456789abcdef"
    env = _env(tmp_path, BUTLER_DATABASE_URL=dsn, BUTLER_AUTH__ENCRYPTION_KEY=key)
    sealed = SecretBox(key, HOME_TOKEN_PURPOSE).seal(TOKEN)

    async def save(conn: asyncpg.Connection, url: str) -> None:
        await conn.execute("DELETE FROM butler.home_connection")
        await conn.execute(
            "INSERT INTO butler.home_connection (url, token_encrypted) VALUES ($1, $2)",
            url,
            sealed,
        )

    try:
        with FakeHomeAssistant().running() as home:
            run(lambda conn: save(conn, home.url), dsn)
            found = _butler("doctor", env=env)
            expected = f"[ok] Home Assistant: {home.url} (set in the app): version {VERSION}"
            assert expected in found.stdout, found.stdout
        other_key = _butler("doctor", env={**env, "BUTLER_AUTH__ENCRYPTION_KEY": "x" * 40})
        assert "[FAIL] Home Assistant" in other_key.stdout
        assert "BUTLER_AUTH__ENCRYPTION_KEY" in other_key.stdout
        assert TOKEN not in other_key.stdout + other_key.stderr
    finally:
        run(lambda conn: conn.execute("DELETE FROM butler.home_connection"), dsn)


def test_serve_restarts_a_killed_embedded_postgres_and_answers_503_meanwhile(
    tmp_path: Path,
) -> None:
    port = free_port()
    with _serving(tmp_path, port) as (process, output):
        match = INVITE_PATTERN.search(output)
        assert match, output
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        registered = client.post(
            "/api/auth/register",
            json={
                "code": match.group(1),
                "username": "kim",
                "display_name": "Kim",
                "password": PASSWORD,
            },
        )
        assert registered.status_code == 201, registered.text
        auth = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        pid_file = tmp_path / "postgres" / "postmaster.pid"
        first_pid = int(pid_file.read_text().split()[0])

        os.kill(first_pid, signal.SIGKILL)
        answers: list[tuple[int, str | None, str | None]] = []
        deadline = time.monotonic() + 60
        while True:
            me = client.get("/api/users/me", headers=auth)  # one kept-alive connection
            error = me.json().get("error") if me.status_code != 200 else None
            answers.append((me.status_code, error, me.headers.get("retry-after")))
            assert me.status_code in {200, 503}, (me.status_code, me.text)
            assert me.headers.get("connection") != "close"
            if me.status_code == 200 and len(answers) > 1 and answers[-2][0] == 503:
                break
            assert time.monotonic() < deadline, (answers[-5:], _serve_log(tmp_path).read_text())
            time.sleep(0.05)
        assert (503, "database_unavailable", "5") in answers
        assert int(pid_file.read_text().split()[0]) != first_pid
        log = _serve_log(tmp_path).read_text()
        assert "The embedded PostgreSQL is not running; starting it again" in log
        assert "Traceback" not in log and "internal_error" not in log
        # The account is still there after the restart.
        assert client.get("/api/users/me", headers=auth).json()["username"] == "kim"
    assert process.returncode == 0


def test_doctor_asks_the_model_and_starts_nothing(tmp_path: Path, wire: AnthropicWire) -> None:
    never_created = _butler("doctor", env=_env(tmp_path, **_model_at(wire)))
    assert "[ok] database: embedded in" in never_created.stdout
    assert "not created yet" in never_created.stdout
    assert not (tmp_path / "postgres").exists(), "doctor must not create the database"

    assert _butler("migrate", env=_env(tmp_path)).returncode == 0
    wire.reset()
    answered = _butler("doctor", env=_env(tmp_path, **_model_at(wire)))
    assert "[ok] model: anthropic model claude-sonnet-5-5 at http://127.0.0.1:" in answered.stdout
    assert ": answered" in answered.stdout
    assert len(wire.requests) == 1 and wire.requests[0]["max_tokens"] <= 16
    assert "not running (`butler serve` starts it)" in answered.stdout
    assert not (tmp_path / "postgres" / "postmaster.pid").exists(), "doctor started PostgreSQL"

    nobody = _butler("doctor", env=_env(tmp_path))
    assert nobody.returncode == 1
    assert "[FAIL] model: No language model: set ANTHROPIC_API_KEY" in nobody.stdout

    wire.play(Reply.fail(401, "authentication_error"))
    refused = _butler("doctor", env=_env(tmp_path, **_model_at(wire)))
    assert refused.returncode == 1
    assert "[FAIL] model: anthropic model" in refused.stdout
    assert "sk-ant-test" not in refused.stdout + refused.stderr

    dead = _butler(
        "doctor",
        env=_env(tmp_path, **{**_model_at(wire), "BUTLER_LLM__BASE_URL": "http://127.0.0.1:9"}),
    )
    assert dead.returncode == 1
    assert "[FAIL] model: anthropic model claude-sonnet-5-5 at http://127.0.0.1:9" in dead.stdout
    assert "Traceback" not in dead.stdout + dead.stderr


def test_doctor_speaks_and_listens_with_the_configured_services(tmp_path: Path) -> None:
    """The TTS says a phrase and the STT must hear it: each as configured, so a service
    that is down is named even when the local models would stand in for it."""
    failing = speech_services.build(0, 0, stt_status=503, tts_status=503)
    with serving(failing) as base_url:
        services = {
            "BUTLER_TTS__BASE_URL": f"{base_url}/v1",
            "BUTLER_STT__PROVIDER": "openai",
            "BUTLER_STT__BASE_URL": f"{base_url}/v1",
        }
        strict = _butler(
            "doctor", env=_env(tmp_path, **services, BUTLER_TTS__FALLBACK_TO_LOCAL="false")
        )
        assert strict.returncode == 1
        assert f"[FAIL] TTS: kokoro at {base_url}/v1: " in strict.stdout, strict.stdout
        assert "failed: " in strict.stdout.splitlines()[-1]
        covered = _butler("doctor", env=_env(tmp_path, **services))
        assert "[ok] TTS: kokoro at" in covered.stdout and "use Piper" in covered.stdout
        assert f"[FAIL] STT: openai at {base_url}/v1" in covered.stdout, covered.stdout
    local = _butler(
        "doctor", env=_env(tmp_path, BUTLER_TTS__PROVIDER="piper", BUTLER_STT__PROVIDER="local")
    )
    assert "[ok] TTS: piper: spoke in" in local.stdout, local.stdout
    assert "[ok] STT: local whisper: heard 'Butler can hear you clearly" in local.stdout
    quick = _butler("doctor", "--quick", env=_env(tmp_path))
    assert "TTS" not in quick.stdout and "STT" not in quick.stdout


def test_doctor_proves_the_livekit_keys_and_asks_a_worker_elsewhere(
    tmp_path: Path, livekit: LiveKitServer
) -> None:
    registered = {"answer": (503, "not registered with LiveKit")}

    async def health(_: Request) -> PlainTextResponse:
        status, text = registered["answer"]
        return PlainTextResponse(text, status_code=status)

    worker = Starlette(routes=[Route("/", health)])
    key = livekit.settings.api_key.get_secret_value() if livekit.settings.api_key else ""
    secret = livekit.settings.api_secret.get_secret_value() if livekit.settings.api_secret else ""
    with serving(worker) as worker_url:
        stack = {
            "BUTLER_LIVEKIT__URL": livekit.url,
            "BUTLER_LIVEKIT__API_KEY": key,
            "BUTLER_LIVEKIT__WORKER_HEALTH_URL": worker_url + "/",
        }
        wrong = _butler(
            "doctor", "--quick", env=_env(tmp_path, **stack, BUTLER_LIVEKIT__API_SECRET="x" * 40)
        )
        assert "[FAIL] LiveKit keys: the server refused them" in wrong.stdout, wrong.stdout
        assert "[FAIL] voice worker: down" in wrong.stdout
        assert f"The voice worker at {worker_url}/ is not registered" in wrong.stdout
        registered["answer"] = (200, "registered")
        right = _butler(
            "doctor", "--quick", env=_env(tmp_path, **stack, BUTLER_LIVEKIT__API_SECRET=secret)
        )
        assert "[ok] LiveKit keys: accepted" in right.stdout, right.stdout
        assert "[ok] voice worker: up" in right.stdout
