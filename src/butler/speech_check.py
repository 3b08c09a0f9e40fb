"""Doctor's speech round trip: the configured TTS says a phrase, the configured STT
transcribes it. Both providers are tried as configured (no fallback), so a Kokoro or
Groq that is down is named even when the local models would cover for it."""

from __future__ import annotations

import asyncio
import re
import time

from butler.channels.whatsapp.speech import Speaker, Transcriber
from butler.config import Settings
from butler.users.voices import DEFAULT_VOICE

PHRASE = "Butler can hear you clearly"
_WORDS = re.compile(r"[a-z]+")


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower()))


async def _round_trip(settings: Settings) -> list[tuple[bool, str, str]]:
    results: list[tuple[bool, str, str]] = []
    tts, stt = settings.tts, settings.stt
    speaker = Speaker(tts.model_copy(update={"fallback_to_local": False}))
    named = f"{tts.provider}" + (f" at {tts.base_url}" if tts.provider == "kokoro" else "")
    started = time.perf_counter()
    try:
        note = await speaker.voice_note(PHRASE, DEFAULT_VOICE)
        results.append((True, "TTS", f"{named}: spoke in {time.perf_counter() - started:.1f} s"))
    except Exception as exc:  # every engine fails its own way; the message says which
        if not tts.fallback_to_local:
            return [(False, "TTS", f"{named}: {exc}")]
        results.append((True, "TTS", f"{named} failed ({exc}); replies use Piper on this machine"))
        speaker = Speaker(tts)
        note = await speaker.voice_note(PHRASE, DEFAULT_VOICE)
    finally:
        await speaker.aclose()
    transcriber = Transcriber(stt.model_copy(update={"fallback_to_local": False}))
    started = time.perf_counter()
    try:
        heard = await transcriber.transcribe(note, "audio/ogg")
    except Exception as exc:
        return [*results, (False, "STT", f"{transcriber.engine}: {exc}")]
    finally:
        await transcriber.aclose()
    took = time.perf_counter() - started
    matched = len(_words(heard) & _words(PHRASE)) >= len(_words(PHRASE)) // 2
    detail = f"{transcriber.engine}: heard {heard!r} in {took:.1f} s"
    return [*results, (matched, "STT", detail if matched else detail + " (expected the phrase)")]


def speech_round_trip(settings: Settings) -> list[tuple[bool, str, str]]:
    return asyncio.run(_round_trip(settings))
