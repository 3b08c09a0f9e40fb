"""The voice session in-process with real models: Silero VAD, faster-whisper tiny.en,
Piper; the Butler API on 127.0.0.1 whose LLM is the Anthropic wire stub."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from butler.config import VoiceSettings
from butler.voice.harness import Utterance, talk
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored
from tests.support import Account
from tests.voice.conftest import Speech, voice_api


def rms(samples: np.ndarray) -> float:  # type: ignore[type-arg]
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def test_spoken_question_gets_a_spoken_answer(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    vad_model,  # type: ignore[no-untyped-def]
    local_stt,  # type: ignore[no-untyped-def]
    local_tts,  # type: ignore[no-untyped-def]
    dsn: str,
) -> None:
    wire.play(Reply.say("Of course. The kitchen lights are now off."))
    samples, rate = speak("Please turn off the kitchen lights.")
    result = asyncio.run(
        talk(
            [Utterance(samples, at=0.3)],
            rate,
            api=voice_api(chat_account),
            settings=VoiceSettings(),
            stt_engine=local_stt,
            tts_engine=local_tts,
            vad_model=vad_model,
        )
    )
    assert result.transcripts, "nothing was transcribed"
    heard = result.transcripts[0].lower()
    assert "kitchen" in heard and "light" in heard, heard
    assert result.replies == ["Of course. The kitchen lights are now off."]
    assert len(result.audio) > result.audio_rate, "at least a second of reply audio"
    assert rms(result.audio) > 300, "the reply audio is not silence"
    assert result.end_to_first_audio, "no audio after the end of speech"
    assert "kitchen" in wire.requests[-1]["messages"][-1]["content"][0]["text"].lower()
    rows = stored(dsn, chat_account.id)
    assert [(r["channel"], r["role"]) for r in rows] == [("voice", "user"), ("voice", "assistant")]
