"""Barge-in, the apology when the API is down, stored timings and interruptions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from butler.config import VoiceSettings
from butler.voice.harness import Utterance, talk
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored
from tests.support import Account, free_port, run
from tests.voice.conftest import Speech, voice_api
from tests.voice.test_session import rms

LONG_REPLY = " ".join(
    f"Sentence number {n} of a long weather report with plenty of detail." for n in range(12)
)


def test_speaking_over_the_reply_stops_it_and_is_answered(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    vad_model,  # type: ignore[no-untyped-def]
    local_stt,  # type: ignore[no-untyped-def]
    local_tts,  # type: ignore[no-untyped-def]
    dsn: str,
) -> None:
    wire.play(Reply.say(LONG_REPLY), Reply.say("It is twelve o'clock."))
    first, rate = speak("Tell me the weather for the whole week.")
    second, _ = speak("Stop. What time is it?")
    first_end = len(first) / rate
    result = asyncio.run(
        talk(
            [Utterance(first, at=0.3), Utterance(second, at=0.3 + first_end + 3.0)],
            rate,
            api=voice_api(chat_account),
            settings=VoiceSettings(),
            stt_engine=local_stt,
            tts_engine=local_tts,
            vad_model=vad_model,
            tail_seconds=8,
        )
    )
    assert len(result.replies) >= 2, result
    assert result.interrupted[0] is True, "the long reply was cut off"
    assert len(result.replies[0]) < len(LONG_REPLY)
    assert result.replies[-1] == "It is twelve o'clock."
    assert "time" in result.transcripts[-1].lower()

    rows = stored(dsn, chat_account.id)
    replies = [r for r in rows if r["role"] == "assistant"]
    assert replies[0]["metadata"].get("interrupted") is True
    assert replies[0]["content"] != LONG_REPLY, "the stored reply is what was spoken"
    assert replies[0]["metadata"]["generated_text"] == LONG_REPLY


def test_api_down_gives_a_spoken_apology_and_keeps_listening(
    chat_account: Account,
    speak: Callable[[str], Speech],
    vad_model,  # type: ignore[no-untyped-def]
    local_stt,  # type: ignore[no-untyped-def]
    local_tts,  # type: ignore[no-untyped-def]
) -> None:
    samples, rate = speak("Turn on the radio.")
    settings = VoiceSettings()
    api = voice_api(chat_account, base_url=f"http://127.0.0.1:{free_port()}")
    result = asyncio.run(
        talk(
            [Utterance(samples, at=0.3), Utterance(samples, at=0.3 + len(samples) / rate + 4.0)],
            rate,
            api=api,
            settings=settings,
            stt_engine=local_stt,
            tts_engine=local_tts,
            vad_model=vad_model,
        )
    )
    assert result.replies[:2] == [settings.apology, settings.apology]
    assert rms(result.audio) > 300


def test_turn_timings_are_stored(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    vad_model,  # type: ignore[no-untyped-def]
    local_stt,  # type: ignore[no-untyped-def]
    local_tts,  # type: ignore[no-untyped-def]
    dsn: str,
) -> None:
    wire.play(Reply.say("Done."))
    samples, rate = speak("Lock the front door.")
    asyncio.run(
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

    async def turns(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await conn.fetch(
            "SELECT * FROM butler.voice_turns WHERE user_id = $1", chat_account.id
        )

    rows = run(turns, dsn)
    assert len(rows) == 1
    row = rows[0]
    assert row["llm_first_token_ms"] is not None and row["llm_first_token_ms"] >= 0
    assert row["first_audio_ms"] is not None and 0 < row["first_audio_ms"] < 10_000
    assert row["room_name"].startswith("butler-")
