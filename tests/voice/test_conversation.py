"""Barge-in, the apology when the API is down, stored timings and interruptions."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest
from livekit.agents import stt, tts, vad

from butler.config import STTSettings, TTSSettings, VoiceSettings
from butler.voice import providers
from butler.voice.espeak_tts import EspeakTTS
from butler.voice.providers import build_stt, build_tts
from tests.fakes import speech_services
from tests.fakes.wire import AnthropicWire, Reply, serving
from tests.integration.chat_helpers import last_user_text, stored
from tests.support import Account, free_port, metric, run
from tests.voice.conftest import Converse, Speech, rms, voice_api

LONG_REPLY = " ".join(
    f"Sentence number {n} of a long weather report with plenty of detail." for n in range(12)
)


def test_speaking_over_the_reply_stops_it_and_is_answered(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
    dsn: str,
) -> None:
    # Every later request gets the short answer: a guess at the pause after "Stop." may
    # ask the API once before the whole question does (one stored turn either way).
    wire.play(Reply.say(LONG_REPLY))
    wire.default = Reply.say("It is twelve o'clock.")
    speech = [speak("Tell me the weather for the whole week."), speak("Stop. What time is it?")]
    result = converse(chat_account, speech, gap=3.0, tail_seconds=8, until_answered=False)
    assert len(result.replies) >= 2, result
    assert result.interrupted[0] is True, "the long reply was cut off"
    assert len(result.replies[0]) < len(LONG_REPLY)
    assert result.replies[-1] == "It is twelve o'clock."
    # The question was heard as a turn of its own and sent to the API. (Its words are not
    # checked: tiny.en on espeak audio cut by the interruption varies from run to run.)
    assert len(result.transcripts) >= 2 and result.transcripts[-1], result.transcripts
    # (If "Stop." was a turn whose reply was cut before a word played, the question
    # went with it: see unanswered_words.)
    assert last_user_text(wire.requests[-1]).endswith(result.transcripts[-1])

    rows = stored(dsn, chat_account.id)
    replies = [r for r in rows if r["role"] == "assistant"]
    assert replies[0]["metadata"].get("interrupted") is True
    assert replies[0]["content"] != LONG_REPLY, "the stored reply is what was spoken"
    assert replies[0]["metadata"]["generated_text"] == LONG_REPLY
    # What was stored is what the app showed as the words played (give or take the word
    # being spoken at the moment of the interruption), and no more.
    heard = replies[0]["content"].rstrip("…").strip()
    shown = result.captions[0]
    assert heard and LONG_REPLY.startswith(heard), heard
    assert shown.startswith(heard) or heard.startswith(shown), (shown, heard)
    assert abs(len(shown.split()) - len(heard.split())) <= 2, (shown, heard)
    assert len(heard) < len(LONG_REPLY) / 3, "about 2 s of a 40 s reply was heard"


def test_api_down_gives_a_spoken_apology_and_keeps_listening(
    chat_account: Account, speak: Callable[[str], Speech], converse: Converse
) -> None:
    settings = VoiceSettings()
    api = voice_api(chat_account, base_url=f"http://127.0.0.1:{free_port()}")
    question = speak("Turn on the radio.")
    # The apology takes ~3 s to say: the second question comes well after it, even on a
    # slow machine, so it is never spoken over (and cut).
    result = converse(chat_account, [question, question], gap=6.0, api=api)
    assert result.replies[:2] == [settings.apology, settings.apology]
    assert rms(result.audio) > 300


def test_turn_timings_are_stored(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
    dsn: str,
) -> None:
    wire.play(Reply.say("Done."))
    before = chat_account.client.get("/metrics").text
    converse(chat_account, [speak("Lock the front door.")])
    after = chat_account.client.get("/metrics").text

    async def turns(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await conn.fetch(
            "SELECT * FROM butler.voice_turns WHERE user_id = $1", chat_account.id
        )

    rows = run(turns, dsn)
    assert len(rows) == 1
    row = rows[0]
    assert row["llm_first_token_ms"] is not None and row["llm_first_token_ms"] >= 0
    assert row["first_audio_ms"] is not None and 0 < row["first_audio_ms"] < 10_000
    # The stages come from livekit's per-message metrics (ChatMessage.metrics).
    assert row["endpointing_ms"] is not None and 0 <= row["endpointing_ms"] < 5_000
    assert row["stt_ms"] is not None and 0 <= row["stt_ms"] < 5_000
    assert row["tts_first_byte_ms"] is not None and 0 < row["tts_first_byte_ms"] < 5_000
    assert row["room_name"].startswith("butler-")
    # And counted for /metrics: the voice turn, and its stages as the worker timed them.

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("butler_turns_total", channel="voice", outcome="answered") == 1
    assert grew("butler_voice_turn_stage_seconds_count", stage="first_audio") == 1
    assert grew("butler_voice_turn_stage_seconds_sum", stage="first_audio") == pytest.approx(
        row["first_audio_ms"] / 1000
    )


def test_the_model_ending_the_conversation_closes_the_session_after_goodbye(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    wire.play(
        Reply.use_tools(("end_conversation", {}), text="Goodnight, sleep well."),
        Reply.say(""),
    )
    result = converse(
        chat_account,
        [speak("That is all for today, goodnight.")],
        tail_seconds=10,
        until_answered=False,
    )
    assert result.replies[0] == "Goodnight, sleep well."
    assert result.ended_by_agent, "the session should close once the goodbye has played"
    assert rms(result.audio) > 300


def test_a_pause_mid_sentence_is_one_turn(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
    dsn: str,
) -> None:
    """ "Remind me to call my … mother at six tonight": the words after the pause arrive
    after livekit's end-of-speech decision began; the turn must still hold all of them."""
    wire.default = Reply.say("I will remind you.")
    converse(chat_account, [speak("Remind me to call my"), speak("mother at six tonight")], gap=0.6)

    said = [m["content"] for m in stored(dsn, chat_account.id) if m["role"] == "user"]
    assert len(said) == 1, said
    assert said[0].lower().startswith("remind me to call my")
    assert len(said[0].split()) >= 8, said  # the words after the pause are in it


def test_a_hesitation_sound_over_the_reply_pauses_it_and_it_resumes(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    converse: Converse,
    dsn: str,
) -> None:
    """ "Um, um" said over the reply is speech to the VAD, so the reply pauses; it asks
    nothing, so the reply resumes and is spoken to the end, and no new turn begins.
    (The sound comes after the first 3 s of the reply, during which livekit ignores
    speech while a room's echo canceller settles.)"""
    reply = (
        "The forecast is sunny. Tomorrow brings light rain in the morning. "
        "The weekend stays dry and warm, with a gentle breeze from the west."
    )
    wire.play(Reply.say(reply))
    speech = [speak("What is the weather like?"), speak("Um, um.", speed=120)]
    # A fixed wait: the reply pauses for the sound, and its end is what is checked.
    result = converse(chat_account, speech, gap=4.5, tail_seconds=12, until_answered=False)

    assert result.pauses >= 1, "the sound paused the reply"
    assert True in result.false_interruptions, result.false_interruptions
    assert result.replies == [reply], result.replies
    assert result.interrupted == [False]
    assert len(wire.requests) == 1, "the sound was not sent to the API as a turn"
    replies = [r for r in stored(dsn, chat_account.id) if r["role"] == "assistant"]
    assert [r["content"] for r in replies] == [reply]
    assert not replies[0]["metadata"].get("interrupted")


def _openai_stt(base_url: str, vad_model: vad.VAD, *, fallback: bool) -> stt.STT:
    settings = STTSettings(provider="openai", base_url=f"{base_url}/v1", fallback_to_local=fallback)
    return build_stt(settings, vad_model)


def test_speech_no_stt_can_transcribe_gets_a_spoken_apology(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    converse: Converse,
    vad_model: vad.VAD,
) -> None:
    """The transcription server fails and no fallback is configured: the butler says it
    did not catch that, sends nothing to the API, and the session carries on."""
    failing = speech_services.build(0, 0, stt_status=503)
    with serving(failing) as base_url:
        engine = _openai_stt(base_url, vad_model, fallback=False)
        result = converse(chat_account, [speak("Turn on the radio.")], stt_engine=engine)
    # Tried and retried at the end of speech (and a guess may have been tried at a pause).
    assert len(failing.state.transcriptions) >= 2
    assert result.said == 1, result
    assert result.end_to_first_audio, "the apology was spoken after the speech"
    assert rms(result.audio) > 300
    assert result.transcripts == [] and wire.requests == []
    assert not result.ended_by_agent


def test_a_failing_stt_falls_back_to_the_local_model(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    converse: Converse,
    vad_model: vad.VAD,
) -> None:
    wire.default = Reply.say("The radio is on.")
    failing = speech_services.build(0, 0, stt_status=500)
    with serving(failing) as base_url:
        engine = _openai_stt(base_url, vad_model, fallback=True)
        result = converse(chat_account, [speak("Turn on the radio.")], stt_engine=engine)
    assert failing.state.transcriptions, "the configured server was asked first"
    assert "radio" in result.transcripts[0].lower(), result.transcripts
    assert result.replies == ["The radio is on."]
    assert result.said == 0


def test_groq_transcription_goes_over_groqs_wire_to_the_configured_url(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    converse: Converse,
    vad_model: vad.VAD,
) -> None:
    """The real Groq plugin against a server speaking Groq's OpenAI-style transcription
    API: the key, the model and the WAV go out, and the transcript that comes back is
    the turn."""
    wire.default = Reply.say("The lights are off.")
    groq_wire = speech_services.build(0, 0)
    with serving(groq_wire) as base_url:
        settings = STTSettings(provider="groq", api_key="gsk_wire_test", base_url=f"{base_url}/v1")
        result = converse(
            chat_account, [speak("Turn off the lights.")], stt_engine=build_stt(settings, vad_model)
        )
    [request, *_] = groq_wire.state.requests
    assert request == {
        "authorization": "Bearer gsk_wire_test",
        "model": "whisper-large-v3-turbo",
        "has_audio": True,
    }
    assert result.transcripts == ["Please turn off the kitchen lights."]
    assert last_user_text(wire.requests[-1]) == "Please turn off the kitchen lights."
    assert result.replies == ["The lights are off."]


def _kokoro(base_url: str, *, fallback: bool) -> tts.TTS:
    settings = TTSSettings(provider="kokoro", base_url=f"{base_url}/v1", fallback_to_local=fallback)
    return build_tts(settings, "bm_george")


def test_kokoro_speech_goes_over_the_openai_wire_with_the_users_voice(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    converse: Converse,
) -> None:
    wire.default = Reply.say("The lights are off. Anything else?")
    kokoro = speech_services.build(0, 0)
    with serving(kokoro) as base_url:
        result = converse(
            chat_account,
            [speak("Turn off the lights.")],
            tts_engine=_kokoro(base_url, fallback=False),
        )
    # One request per sentence, each sent as soon as it was complete.
    texts = [body["input"] for body in kokoro.state.syntheses]
    assert [t.strip() for t in texts] == ["The lights are off.", "Anything else?"]
    for body in kokoro.state.syntheses:
        assert (body["model"], body["voice"], body["response_format"]) == (
            "kokoro",
            "bm_george",
            "pcm",
        )
    assert result.audio_rate == 24_000 and rms(result.audio) > 1000


def test_a_failing_kokoro_falls_back_to_the_local_voice(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    converse: Converse,
) -> None:
    wire.default = Reply.say("The lights are off.")
    kokoro = speech_services.build(0, 0, tts_status=503)
    with serving(kokoro) as base_url:
        result = converse(
            chat_account,
            [speak("Turn off the lights.")],
            tts_engine=_kokoro(base_url, fallback=True),
        )
    assert kokoro.state.syntheses, "Kokoro was asked first"
    # Kokoro gave no audio at all, so what was heard is Piper's.
    assert result.replies == ["The lights are off."]
    assert rms(result.audio) > 300


def test_without_piper_a_failing_kokoro_falls_back_to_espeak(
    chat_account: Account,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    converse: Converse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `local-voice` extra is not installed and Kokoro is down: the answer is still
    heard, in espeak-ng's voice."""
    monkeypatch.setattr(providers, "_local_tts", lambda: None)
    wire.default = Reply.say("The lights are off.")
    kokoro = speech_services.build(0, 0, tts_status=503)
    with serving(kokoro) as base_url:
        engine = _kokoro(base_url, fallback=True)
        assert [type(t) for t in engine._tts_instances][1:] == [EspeakTTS]  # type: ignore[attr-defined]
        result = converse(chat_account, [speak("Turn off the lights.")], tts_engine=engine)
    assert kokoro.state.syntheses, "Kokoro was asked first"
    assert result.replies == ["The lights are off."]
    assert rms(result.audio) > 300
