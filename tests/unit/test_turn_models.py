"""The end-of-turn audio models on real audio, and the microphone buffer they read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from butler.errors import ConfigError
from butler.voice.preflight_stt import RecentAudio
from butler.voice.simulated_io import read_wav, speech_end_offset
from butler.voice.turn_models import (
    LiveKitTurnModel,
    SmartTurnModel,
    default_smart_turn_path,
    load_turn_model,
)


def _heard_until_now(text: str, folder: Path) -> np.ndarray[Any, np.dtype[np.int16]]:
    """espeak-ng saying `text`, then 300 ms of silence (where the VAD ends the speech),
    at 16 kHz."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required: apt-get install espeak-ng"
    path = folder / "speech.wav"
    subprocess.run([espeak, "-s", "160", "-w", str(path), text], check=True)
    samples, rate = read_wav(path)
    samples = samples[: int(speech_end_offset(samples, rate) * rate)]
    samples = np.concatenate([samples, np.zeros(int(0.3 * rate), np.int16)])
    buffer = RecentAudio(keep_seconds=30)
    buffer.add(rtc.AudioFrame(samples.tobytes(), rate, 1, len(samples)))
    return buffer.last(30)


def test_smart_turn_hears_a_finished_request_and_a_cut_phrase(tmp_path: Path) -> None:
    """A list left hanging ("put apples, pears, …") rises as a list does. Measured on
    this espeak-ng audio at 140 to 190 words a minute: 0.98 to 0.99, and 0.03 to 0.09. Wrong
    features (the log-mel layout, the normalisation, the padding side) put both near
    the same value."""
    model = SmartTurnModel()
    finished = model.probability(_heard_until_now("Turn off the kitchen lights.", tmp_path))
    cut = model.probability(_heard_until_now("Put apples, pears,", tmp_path))
    assert finished >= 0.8 > 0.3 >= cut, (finished, cut)


def test_smart_turn_takes_any_length_of_audio() -> None:
    model = SmartTurnModel()
    for seconds in (0.0, 0.5, 12.0):
        p = model.probability(np.zeros(int(seconds * 16_000), dtype=np.int16))
        assert 0.0 <= p <= 1.0


def test_a_missing_smart_turn_model_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="make setup"):
        SmartTurnModel(tmp_path / "nowhere.onnx")


def test_livekits_model_runs_locally_on_the_latest_audio(tmp_path: Path) -> None:
    model = LiveKitTurnModel()
    audio = _heard_until_now("Please turn off the kitchen lights.", tmp_path)
    assert len(audio) > 19_200  # longer than the model takes: it gets the end of it
    p = model.probability(audio)
    assert 0.0 < p < 1.0
    assert model.probability(audio) == p  # deterministic, on this machine


def test_the_setting_names_the_model_and_sessions_share_it() -> None:
    assert load_turn_model("text") is None
    assert isinstance(load_turn_model("text+livekit"), LiveKitTurnModel)
    shared = load_turn_model("smart-turn", default_smart_turn_path())
    assert isinstance(shared, SmartTurnModel)
    assert load_turn_model("smart-turn", default_smart_turn_path()) is shared


def test_the_buffer_keeps_the_last_seconds_at_16_khz() -> None:
    buffer = RecentAudio(keep_seconds=8.5)
    rate = 24_000
    tone = (np.sin(2 * np.pi * 440 * np.arange(rate * 10) / rate) * 8000).astype(np.int16)
    for start in range(0, len(tone), rate // 50):  # 20 ms frames, as a room sends them
        chunk = tone[start : start + rate // 50]
        buffer.add(rtc.AudioFrame(chunk.tobytes(), rate, 1, len(chunk)))
    audio = buffer.last(8.0)
    assert len(audio) == 8 * 16_000
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64)))
    assert abs(np.argmax(spectrum) * 16_000 / len(audio) - 440) < 2  # same pitch
    assert len(buffer.last(30.0)) <= int(8.6 * 16_000), "older audio is let go"
    assert len(RecentAudio().last(1.0)) == 0
