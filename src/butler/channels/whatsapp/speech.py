"""Voice notes in and out: transcribed by the configured STT, replies spoken by the
configured TTS and sent as OGG/Opus. Audio is handled in memory and never stored."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from butler.channels.whatsapp.voice_audio import decode_voice_note, encode_voice_note
from butler.config import STTSettings, TTSSettings

log = logging.getLogger(__name__)

GROQ_BASE_URL = "https://api.groq.com/openai/v1"
REMOTE_TIMEOUT = 30.0
KOKORO_RATE = 24_000  # Kokoro-FastAPI's raw PCM


class Transcriber:
    """The STT of BUTLER_STT__*: Groq or an OpenAI-compatible server take the voice
    note as it came; local whisper (and the fallback when the service fails) gets it
    decoded to 16 kHz."""

    def __init__(self, settings: STTSettings) -> None:
        self._settings = settings
        self._remote: Any = None
        key = settings.api_key.get_secret_value() if settings.api_key else None
        if settings.provider != "local" and (key or settings.provider == "openai"):
            import openai

            base = settings.base_url or (
                GROQ_BASE_URL if settings.provider == "groq" else "http://localhost:8000/v1"
            )
            self._remote = openai.AsyncOpenAI(
                base_url=base, api_key=key or "not-needed", timeout=REMOTE_TIMEOUT, max_retries=1
            )

    @property
    def engine(self) -> str:
        """What transcribes, for people to read ("local whisper" when no service is set)."""
        if self._remote is None:
            return "local whisper"
        return f"{self._settings.provider} at {self._remote.base_url}"

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        if self._remote is not None:
            try:
                result = await self._remote.audio.transcriptions.create(
                    model=self._settings.model,
                    file=("voice-note.ogg", audio, mime_type or "audio/ogg"),
                    language=self._settings.language,
                )
                return str(result.text).strip()
            except Exception as exc:  # the vendor's errors are many; the local model is one
                if not self._settings.fallback_to_local:
                    raise
                log.warning("whatsapp: the STT service failed (%s); transcribing locally", exc)
        return await asyncio.to_thread(self._local, audio)

    def _local(self, audio: bytes) -> str:
        from butler.voice.local_stt import LEADING_SILENCE_SECONDS, WHISPER_RATE, LocalWhisper

        samples = decode_voice_note(audio)
        pad = np.zeros(int(LEADING_SILENCE_SECONDS * WHISPER_RATE), dtype=np.float32)
        return LocalWhisper.shared().transcribe(
            np.concatenate([pad, samples]), self._settings.language
        )

    async def aclose(self) -> None:
        if self._remote is not None:
            await self._remote.close()


class Speaker:
    """Replies as voice notes, in the person's voice: the configured TTS (Kokoro's
    OpenAI-compatible endpoint, or Piper), then Piper and espeak-ng as the fallbacks
    when BUTLER_TTS__FALLBACK_TO_LOCAL allows. (Not through livekit-agents' plugins:
    those may only load on a process's main thread, and the API runs anywhere.)"""

    def __init__(self, settings: TTSSettings) -> None:
        self._settings = settings
        self._kokoro: Any = None
        if settings.provider == "kokoro":
            import openai

            self._kokoro = openai.AsyncOpenAI(
                base_url=settings.base_url, api_key="kokoro", timeout=REMOTE_TIMEOUT, max_retries=0
            )

    async def voice_note(self, text: str, voice: str) -> bytes:
        pcm, rate = await self._speech(text, voice)
        return await asyncio.to_thread(encode_voice_note, pcm, rate)

    async def _speech(self, text: str, voice: str) -> tuple[bytes, int]:
        engines = [self._kokoro_speech] if self._kokoro is not None else [self._piper_speech]
        if self._settings.fallback_to_local:
            engines += [self._piper_speech, self._espeak_speech]
        failures = []
        for engine in dict.fromkeys(engines):
            try:
                return await engine(text, voice)
            except Exception as exc:  # each engine fails its own way; the next one tries
                failures.append(f"{engine.__name__}: {exc}")
        raise RuntimeError("no voice could speak the reply: " + "; ".join(failures))

    async def _kokoro_speech(self, text: str, voice: str) -> tuple[bytes, int]:
        from butler.users.voices import DEFAULT_VOICE
        from butler.voice.providers import LOCAL_VOICE

        response = await self._kokoro.audio.speech.create(
            model=self._settings.model,
            voice=DEFAULT_VOICE if voice == LOCAL_VOICE else voice,
            input=text,
            response_format="pcm",
        )
        return await response.aread(), KOKORO_RATE

    async def _piper_speech(self, text: str, voice: str) -> tuple[bytes, int]:
        from butler.voice.local_tts import LocalPiper  # the optional local-voice extra

        def speak() -> tuple[bytes, int]:
            piper = LocalPiper.shared()
            return b"".join(piper.chunks(text)), piper.sample_rate

        return await asyncio.to_thread(speak)

    async def _espeak_speech(self, text: str, voice: str) -> tuple[bytes, int]:
        from butler.voice.espeak_tts import ESPEAK_RATE, WORDS_PER_MINUTE, espeak_path, pcm_of_wav

        executable = espeak_path()
        if executable is None:
            raise RuntimeError("espeak-ng is not installed")
        process = await asyncio.create_subprocess_exec(
            executable,
            "--stdout",
            "-s",
            WORDS_PER_MINUTE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        wav, _ = await process.communicate(text.encode())
        return pcm_of_wav(wav), ESPEAK_RATE

    async def aclose(self) -> None:
        if self._kokoro is not None:
            await self._kokoro.close()
