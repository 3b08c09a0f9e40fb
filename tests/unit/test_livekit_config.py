"""The embedded LiveKit server's configuration: loopback by default, never a public STUN
server, the webhook signed with Butler's key; the pinned version in one place."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from butler.config import LiveKitSettings, Settings
from butler.errors import ConfigError
from butler.stack.livekit_server import LIVEKIT_VERSION, find_binary, server_config
from butler.stack.local_stack import local_speech

ROOT = Path(__file__).resolve().parents[2]


def _config(**settings: object) -> dict[str, object]:
    text = server_config(
        LiveKitSettings(**settings),  # type: ignore[arg-type]
        api_key="butler-key",
        api_secret="s" * 48,
        webhook_url="http://127.0.0.1:8000/api/livekit/webhook",
    )
    loaded: dict[str, object] = json.loads(text)
    return loaded


def test_the_default_is_this_machine_only_and_names_no_public_stun_server() -> None:
    config = _config()
    assert config["bind_addresses"] == ["127.0.0.1"]
    rtc = config["rtc"]
    assert isinstance(rtc, dict)
    assert rtc["node_ip"] == "127.0.0.1"
    assert rtc["use_external_ip"] is False
    assert rtc["tcp_port"] == 0  # its listener cannot be bound to loopback
    # Without STUN servers of its own, LiveKit hands clients Google's and Twilio's.
    assert rtc["stun_servers"] == ["127.0.0.1:7882"]
    assert "google" not in json.dumps(config) and "twilio" not in json.dumps(config)
    assert config["webhook"] == {
        "api_key": "butler-key",
        "urls": ["http://127.0.0.1:8000/api/livekit/webhook"],
    }
    assert config["keys"] == {"butler-key": "s" * 48}


def test_a_home_network_address_offers_media_there_and_uses_configured_stun() -> None:
    config = _config(node_ip="192.168.1.20", ice_servers=["stun:stun.example.home:3478"])
    rtc = config["rtc"]
    assert isinstance(rtc, dict)
    assert config["bind_addresses"] == ["127.0.0.1"]  # signalling is relayed by Butler
    assert rtc["node_ip"] == "192.168.1.20"
    assert rtc["tcp_port"] == 7881
    assert rtc["stun_servers"] == ["stun.example.home:3478"]


def test_a_configured_binary_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BUTLER_LIVEKIT__SERVER_BINARY"):
        find_binary(LiveKitSettings(server_binary=tmp_path / "missing"))


def test_the_makefile_builds_the_version_butler_runs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pinned = re.search(r"^LIVEKIT_VERSION\s*:=\s*(\S+)", makefile, re.MULTILINE)
    assert pinned is not None and pinned.group(1) == LIVEKIT_VERSION


def test_the_embedded_worker_uses_local_speech_unless_a_service_is_configured() -> None:
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    assert local_speech(plain) == {
        "BUTLER_STT__PROVIDER": "local",
        "BUTLER_TTS__PROVIDER": "piper",
    }
    configured = Settings(
        _env_file=None,  # type: ignore[call-arg]
        stt={"provider": "groq", "api_key": "gsk_x"},
        tts={"base_url": "http://kokoro.home:8880/v1"},
    )
    assert local_speech(configured) == {}


def test_urls_follow_the_mode() -> None:
    embedded = LiveKitSettings(port=7990)
    assert embedded.embedded and embedded.server_url == "ws://127.0.0.1:7990"
    assert embedded.http_url == "http://127.0.0.1:7990"
    external = LiveKitSettings(url="wss://lk.example.home", public_url="wss://voice.example.home")
    assert not external.embedded
    assert external.http_url == "https://lk.example.home"
    assert external.browser_url == "wss://voice.example.home"
    assert embedded.browser_url is None  # Butler's own origin relays its signalling
