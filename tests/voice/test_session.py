"""The voice session in-process with real models: Silero VAD, faster-whisper tiny.en,
Piper; the Butler API on 127.0.0.1 whose LLM is the Anthropic wire stub."""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored
from tests.support import Account
from tests.voice.conftest import Converse, Speech, rms


def test_spoken_question_gets_a_spoken_answer(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
    dsn: str,
) -> None:
    wire.play(Reply.say("Of course. The kitchen lights are now off."))
    result = converse(chat_account, [speak("Please turn off the kitchen lights.")])
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
