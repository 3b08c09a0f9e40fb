"""The embedded voice stack that `butler serve` runs when no LiveKit URL is configured:
a LiveKit server on this machine and a voice worker, each supervised.

Like the embedded PostgreSQL, it needs nothing set: the keys are the ones generated
into the data folder, the server listens on loopback, and the worker uses local speech
models unless Groq or Kokoro are configured. Its state is written to
`<data dir>/stack/status.json` for /readyz, `butler doctor` and the app.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import httpx

from butler.config import Settings
from butler.errors import ConfigError
from butler.stack.livekit_server import find_binary, server_config
from butler.stack.supervisor import ChildSpec, State, Status, SupervisedProcess

log = logging.getLogger(__name__)

LIVEKIT = "livekit-server"
WORKER = "voice-worker"


def status_path(data_dir: Path) -> Path:
    return data_dir / "stack" / "status.json"


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=1.0).status_code == 200


def worker_health_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.livekit.worker_health_port}/"


def local_speech(settings: Settings) -> dict[str, str]:
    """Local STT and TTS for the embedded worker, unless Groq or Kokoro were configured."""
    env: dict[str, str] = {}
    stt, tts = settings.stt, settings.tts
    if stt.provider == "groq" and stt.api_key is None:
        env["BUTLER_STT__PROVIDER"] = "local"
    if tts.provider == "kokoro" and not ({"provider", "base_url"} & tts.model_fields_set):
        env["BUTLER_TTS__PROVIDER"] = "piper"
    return env


def worker_env(settings: Settings, api_url: str, api_authority: Path | None) -> dict[str, str]:
    lk = settings.livekit
    assert lk.api_key is not None and lk.api_secret is not None
    env = {
        **os.environ,
        **local_speech(settings),
        "BUTLER_LIVEKIT__URL": lk.server_url,
        "BUTLER_LIVEKIT__API_KEY": lk.api_key.get_secret_value(),
        "BUTLER_LIVEKIT__API_SECRET": lk.api_secret.get_secret_value(),
        "BUTLER_API_URL": api_url,
        "BUTLER_DATA_DIR": str(settings.data_dir),
        # livekit-agents' development mode may reach LiveKit Cloud: never here.
        "LIVEKIT_DEV_MODE": "0",
    }
    if api_authority is not None:
        env["BUTLER_API_CA_FILE"] = str(api_authority)
    return env


class LocalStack:
    """The LiveKit server and the voice worker, started and stopped together."""

    def __init__(
        self, settings: Settings, *, api_url: str, api_authority: Path | None = None
    ) -> None:
        self.settings = settings
        self.api_url = api_url
        # The authority that signed the API's certificate, when it serves HTTPS with a
        # local one (local_tls): both children call the API.
        self.api_authority = api_authority
        self.folder = settings.data_dir / "stack"
        self.children: list[SupervisedProcess] = []
        self.problem = ""

    def start(self) -> None:
        """Start both; a missing LiveKit binary leaves voice off (chat still works)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            binary = find_binary(self.settings.livekit)
        except ConfigError as exc:
            self.problem = exc.message
            log.warning("Voice is off. %s", exc.message)
            self._write_status()
            return
        self.children = [self._livekit(binary), self._worker()]
        for child in self.children:
            child.start()
        self._write_status()

    def stop(self) -> None:
        for child in reversed(self.children):  # the worker leaves before its server
            child.stop()
        self._write_status()

    def statuses(self) -> list[Status]:
        return [child.status() for child in self.children]

    def _livekit(self, binary: Path) -> SupervisedProcess:
        lk = self.settings.livekit
        assert lk.api_key is not None and lk.api_secret is not None
        config_path = self.folder / "livekit.yaml"
        fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds keys
        with os.fdopen(fd, "w") as handle:
            handle.write(
                server_config(
                    lk,
                    api_key=lk.api_key.get_secret_value(),
                    api_secret=lk.api_secret.get_secret_value(),
                    webhook_url=f"{self.api_url}/api/livekit/webhook",
                )
            )
        return SupervisedProcess(
            ChildSpec(
                name=LIVEKIT,
                argv=[str(binary), "--config", str(config_path)],
                env=self._livekit_env(),
                log_path=self.folder / "livekit.log",
                pid_path=self.folder / "livekit.pid",
                healthy=lambda: http_ok(f"http://127.0.0.1:{lk.port}/"),
                startup_seconds=20,
            ),
            on_change=self._write_status,
        )

    def _livekit_env(self) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if self.api_authority is not None:
            # Its only TLS peer is the API (the webhook), so only that authority.
            env["SSL_CERT_FILE"] = str(self.api_authority)
        return env

    def _worker(self) -> SupervisedProcess:
        return SupervisedProcess(
            ChildSpec(
                name=WORKER,
                argv=[sys.executable, "-m", "butler", "voice"],
                env=worker_env(self.settings, self.api_url, self.api_authority),
                log_path=self.folder / "voice-worker.log",
                pid_path=self.folder / "voice-worker.pid",
                healthy=lambda: http_ok(worker_health_url(self.settings)),
                # Loading the speech models and registering takes a few seconds; the
                # server may still be starting.
                startup_seconds=90,
                startup_tries=5,
            ),
            on_change=self._write_status,
        )

    def _write_status(self) -> None:
        document = {
            "problem": self.problem,
            "children": {
                s.name: {
                    "state": s.state.value,
                    "pid": s.pid,
                    "restarts": s.restarts,
                    "detail": s.detail,
                }
                for s in self.statuses()
            },
        }
        path = status_path(self.settings.data_dir)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(document))
            os.replace(tmp, path)
        except OSError as exc:
            log.debug("could not write %s: %s", path, exc)


def read_status(data_dir: Path) -> dict[str, object]:
    """What the embedded stack last wrote; empty when it never ran."""
    try:
        document = json.loads(status_path(data_dir).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


__all__ = ["LIVEKIT", "WORKER", "LocalStack", "State", "read_status", "status_path"]
