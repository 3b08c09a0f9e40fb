"""`butler talk` as a person runs it, against the test API (Anthropic wire stub LLM)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from butler.voice.simulated_io import read_wav, write_wav
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import JWT_SECRET, Account
from tests.voice.conftest import Speech, rms

pytestmark = pytest.mark.slow

FORECAST = (
    "It is sunny and warm today, with a light breeze from the west, and no rain is "
    "expected before the weekend, when it turns cooler."
)


def _env(dsn: str, api_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUTLER_", "LIVEKIT_"))}
    env.update(
        {
            "BUTLER_DATA_DIR": str(tmp_path / "data"),
            "BUTLER_DATABASE_URL": dsn,
            "BUTLER_AUTH__JWT_SECRET": JWT_SECRET,
            "BUTLER_API_URL": api_url,
            "BUTLER_LOG_LEVEL": "WARNING",
        }
    )
    return env


def run_talk(
    question: Path, answer: Path, username: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`butler talk QUESTION --out ANSWER --user USERNAME` as a person runs it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "butler",
            "talk",
            str(question),
            "--out",
            str(answer),
            "--user",
            username,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_talk_answers_a_spoken_question_with_a_spoken_answer(
    chat_url: str,
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    dsn: str,
    tmp_path: Path,
) -> None:
    samples, rate = speak("What is the weather like today?")
    question, answer = tmp_path / "question.wav", tmp_path / "answer.wav"
    write_wav(question, samples, rate)
    # A long answer (or a slow one, on a busy machine): `talk` waits for the whole
    # reply rather than stopping a fixed time after the question.
    wire.play(Reply.say(FORECAST))
    result = run_talk(question, answer, chat_account.username, _env(dsn, chat_url, tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "weather" in result.stdout.lower()
    assert f"reply:  {FORECAST}" in result.stdout
    assert "end of speech -> first audio:" in result.stdout
    audio, audio_rate = read_wav(answer)
    assert len(audio) > 5 * audio_rate  # all of it, not the first seconds
    assert rms(audio) > 300


def test_talk_explains_bad_input(chat_url: str, dsn: str, tmp_path: Path) -> None:
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not a wav file")
    result = subprocess.run(
        [sys.executable, "-m", "butler", "talk", str(not_audio)],
        env=_env(dsn, chat_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "is not a readable WAV file" in result.stderr
    assert "Traceback" not in result.stderr
