"""The worker's wiring: identity and credential from a real room token, providers from
configuration, nothing pointed at LiveKit Cloud, no audio kept."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from livekit.agents import stt as lk_stt
from livekit.agents import tts as lk_tts
from livekit.agents.testing import fake_job_context
from livekit.plugins import openai as lk_openai

from butler.config import Settings, STTSettings, TTSSettings, VoiceSettings
from butler.voice.espeak_tts import EspeakTTS
from butler.voice.local_stt import LocalSTT
from butler.voice.local_tts import LocalTTS
from butler.voice.providers import build_stt, build_tts
from butler.voice.session_setup import session_options
from butler.voice.turn_detector import ButlerTurnDetector
from butler.voice.worker import SessionRefused, check_identity, voice_api_for_job
from tests.fakes.wire import AnthropicWire, Reply
from tests.livekit_server import dispatched_credential
from tests.support import Account
from tests.voice.conftest import Converse, Speech


def _settings(api_url: str) -> Settings:
    return Settings(_env_file=None, api_url=api_url)  # type: ignore[call-arg]


def test_identity_and_credential_from_a_real_dispatch(chat_account: Account) -> None:
    credential, room = dispatched_credential(chat_account)
    metadata = json.dumps({"voice_credential": credential})

    async def run() -> dict[str, object]:
        with fake_job_context(job_metadata=metadata) as ctx:
            api = voice_api_for_job(
                ctx.job.metadata, room, _settings(str(chat_account.client.base_url))
            )
            try:
                profile = await api.profile()
            finally:
                await api.aclose()
        check_identity(profile, chat_account.user["id"])
        return profile

    profile = asyncio.run(run())
    assert profile["id"] == chat_account.user["id"]
    assert profile["voice"] == "bf_emma"
    with pytest.raises(SessionRefused):
        check_identity(profile, "someone-else")


@pytest.mark.parametrize("metadata", ["", "{}", "not json", json.dumps({"voice_credential": ""})])
def test_a_job_without_a_credential_is_refused(metadata: str) -> None:
    with pytest.raises(SessionRefused):
        voice_api_for_job(metadata, "room", _settings("http://127.0.0.1:1"))


def test_a_forged_credential_gets_no_profile(chat_account: Account) -> None:
    api = voice_api_for_job(
        json.dumps({"voice_credential": "forged.token.value"}),
        "room",
        _settings(str(chat_account.client.base_url)),
    )

    async def run() -> int:
        try:
            response = await api.http().get("/api/voice/me")
            return response.status_code
        finally:
            await api.aclose()

    assert asyncio.run(run()) == 401


def test_turn_handling_never_reaches_livekit_cloud() -> None:
    options = session_options(VoiceSettings())["turn_handling"]
    assert isinstance(options["turn_detection"], ButlerTurnDetector)
    assert options["interruption"]["mode"] == "vad"
    assert options["endpointing"]["min_delay"] == 0.55
    assert options["preemptive_generation"]["preemptive_tts"] is True
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # No URL: Butler's own server on loopback (the embedded stack).
    assert settings.livekit.url is None
    assert settings.livekit.server_url == "ws://127.0.0.1:7880"
    assert settings.livekit.browser_url is None  # relayed on Butler's own origin


def test_providers_follow_configuration(local_stt, local_tts, vad_model) -> None:  # type: ignore[no-untyped-def]
    vad = vad_model
    assert isinstance(build_stt(STTSettings(provider="local"), vad), LocalSTT)
    # Groq without a key cannot work: the local model is used instead of failing.
    assert isinstance(build_stt(STTSettings(provider="groq"), vad), LocalSTT)
    groq = build_stt(STTSettings(provider="groq", api_key="gsk_test"), vad)
    assert isinstance(groq, lk_stt.FallbackAdapter)
    # Batch STTs are wrapped for streaming (with the VAD) inside the fallback adapter.
    wrapped = [getattr(s, "wrapped_stt", s) for s in groq._stt_instances]
    assert type(wrapped[0]).__module__.startswith("livekit.plugins.groq")
    assert isinstance(wrapped[1], LocalSTT)
    alone = build_stt(STTSettings(provider="groq", api_key="k", fallback_to_local=False), vad)
    assert type(alone).__module__.startswith("livekit.plugins.groq")
    compatible = build_stt(
        STTSettings(provider="openai", base_url="http://127.0.0.1:9/v1", fallback_to_local=False),
        vad,
    )
    assert isinstance(compatible, lk_openai.STT)

    assert isinstance(
        build_tts(TTSSettings(provider="piper", fallback_to_local=False), "bf_emma"), LocalTTS
    )
    kokoro = build_tts(TTSSettings(provider="kokoro", fallback_to_local=False), "bm_george")
    assert isinstance(kokoro, lk_openai.TTS)
    assert kokoro._opts.voice == "bm_george"
    assert kokoro._opts.response_format == "pcm"
    assert (
        build_tts(TTSSettings(provider="kokoro", fallback_to_local=False), "piper_joe")._opts.voice
        == "bf_emma"
    )  # type: ignore[attr-defined]
    # The fallbacks: Piper, then espeak-ng (robotic, but heard).
    chain = build_tts(TTSSettings(provider="kokoro"), "bf_emma")
    assert isinstance(chain, lk_tts.FallbackAdapter)
    assert [type(t) for t in chain._tts_instances] == [lk_openai.TTS, LocalTTS, EspeakTTS]
    local = build_tts(TTSSettings(provider="piper"), "bf_emma")
    assert [type(t) for t in local._tts_instances] == [LocalTTS, EspeakTTS]  # type: ignore[attr-defined]


def _audio_files(root: Path) -> set[Path]:
    # os.walk skips folders that vanish while it looks (other processes use /tmp too).
    suffixes = {".wav", ".pcm", ".ogg", ".opus", ".mp3", ".flac", ".raw"}
    return {
        Path(folder) / name
        for folder, _, names in os.walk(root)
        for name in names
        if Path(name).suffix.lower() in suffixes
    }


def test_no_audio_is_written_to_disk_or_database(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
    dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    question = speak("What is on the calendar today?")
    monkeypatch.chdir(tmp_path)
    watched = [tmp_path, Path(tempfile.gettempdir())]
    before = {root: _audio_files(root) for root in watched}
    wire.play(Reply.say("Nothing at all."))
    converse(chat_account, [question])
    for root in watched:
        assert _audio_files(root) - before[root] == set(), f"audio written under {root}"

    from tests.support import run

    async def binary_columns(conn) -> int:  # type: ignore[no-untyped-def]
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_schema = 'butler' AND data_type = 'bytea'"
            )
        )

    assert run(binary_columns, dsn) == 0, "the schema has no place for audio"
