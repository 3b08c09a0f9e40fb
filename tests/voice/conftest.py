"""Voice fixtures: espeak-ng speech, the local models, a voice credential for a user."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from livekit.agents import stt, tts, vad

from butler.config import VoiceSettings
from butler.voice.butler_llm import ButlerAPI
from butler.voice.harness import TalkResult, talk
from butler.voice.local_stt import LocalSTT
from butler.voice.local_tts import LocalTTS
from butler.voice.providers import build_vad
from butler.voice.simulated_io import Utterance, read_wav
from tests.livekit_server import dispatched_credential
from tests.support import Account

Speech = tuple[np.ndarray[Any, np.dtype[np.int16]], int]


@pytest.fixture(scope="session")
def speak(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Speech]:
    """Generated speech (espeak-ng, deterministic) as mono int16 samples; `speed` in
    words a minute."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required: the test set-up installs it (apt-get install espeak-ng)"
    folder = tmp_path_factory.mktemp("speech")

    def make(text: str, speed: int = 150) -> Speech:
        path = folder / f"{abs(hash((text, speed)))}.wav"
        subprocess.run([espeak, "-s", str(speed), "-w", str(path), text], check=True)
        return read_wav(path)

    return make


@pytest.fixture(scope="session")
def vad_model() -> vad.VAD:
    return build_vad(VoiceSettings())


@pytest.fixture(scope="session")
def local_stt() -> LocalSTT:
    return LocalSTT()


@pytest.fixture(scope="session")
def local_tts() -> LocalTTS:
    return LocalTTS()


def voice_api(account: Account, *, base_url: str | None = None, timeout: float = 8.0) -> ButlerAPI:
    """What the worker builds from a room's dispatch: the credential, the session."""
    credential, room = dispatched_credential(account)
    return ButlerAPI(
        base_url=base_url or str(account.client.base_url),
        credential=credential,
        session_id=room,
        timeout_seconds=timeout,
    )


Converse = Callable[..., TalkResult]


@pytest.fixture
def converse(vad_model: vad.VAD, local_stt: LocalSTT, local_tts: LocalTTS) -> Converse:
    """Speak utterances (text, seconds after the previous one ends) to the butler as
    `account`, with the local models, and return what happened: by default until the
    reply after the last one has been heard in full (at most `tail_seconds`), since a
    busy machine can take longer than any fixed wait to synthesise and play it. Tests of
    what happens around a reply (spoken over, dropped, ending the session) keep a fixed
    wait with `until_answered=False`."""

    def run(
        account: Account,
        speech: Sequence[Speech],
        *,
        gap: float = 3.0,
        api: ButlerAPI | None = None,
        tail_seconds: float = 20.0,
        until_answered: bool = True,
        stt_engine: stt.STT | None = None,
        tts_engine: tts.TTS | None = None,
        settings: VoiceSettings | None = None,
    ) -> TalkResult:
        rate = speech[0][1]
        utterances, start = [], 0.3
        for samples, _ in speech:
            utterances.append(Utterance(samples, at=start))
            start += len(samples) / rate + gap
        return asyncio.run(
            talk(
                utterances,
                rate,
                api=api or voice_api(account),
                settings=settings or VoiceSettings(),
                stt_engine=stt_engine or local_stt,
                tts_engine=tts_engine or local_tts,
                vad_model=vad_model,
                tail_seconds=tail_seconds,
                until_answered=until_answered,
            )
        )

    return run


def rms(samples: np.ndarray[Any, np.dtype[np.int16]]) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
