"""The voice of last resort: espeak-ng (the Debian package), when the configured TTS
and Piper both fail or Piper is not installed. Robotic, but the answer is heard rather
than lost. It runs as a separate program, one per sentence, fed on standard input (so
no text can be read as an option)."""

from __future__ import annotations

import asyncio
import shutil
import uuid

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectionError, APIConnectOptions, tts

ESPEAK_RATE = 22_050
WORDS_PER_MINUTE = "165"


def espeak_path() -> str | None:
    return shutil.which("espeak-ng")


def pcm_of_wav(data: bytes) -> bytes:
    """The samples of espeak-ng's WAV output (its header may not give true sizes)."""
    marker = data.find(b"data", 12)
    if not data.startswith(b"RIFF") or marker < 0:
        raise APIConnectionError("espeak-ng gave no audio")
    samples = data[marker + 8 :]
    return samples[: len(samples) // 2 * 2]


class EspeakTTS(tts.TTS):
    def __init__(self, executable: str) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=ESPEAK_RATE,
            num_channels=1,
        )
        self.executable = executable

    @property
    def model(self) -> str:
        return "espeak-ng"

    @property
    def provider(self) -> str:
        return "espeak-ng"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _EspeakStream(tts=self, input_text=text, conn_options=conn_options)


class _EspeakStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        engine: EspeakTTS = self._tts  # type: ignore[assignment]
        process = await asyncio.create_subprocess_exec(
            engine.executable,
            "--stdout",
            "-s",
            WORDS_PER_MINUTE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            wav, errors = await process.communicate(self.input_text.encode())
        except asyncio.CancelledError:
            process.kill()
            raise
        if process.returncode != 0:
            raise APIConnectionError(f"espeak-ng failed: {errors.decode(errors='replace')[:200]}")
        output_emitter.initialize(
            request_id=uuid.uuid4().hex,
            sample_rate=ESPEAK_RATE,
            num_channels=1,
            mime_type="audio/pcm",
        )
        output_emitter.push(pcm_of_wav(wav))
        output_emitter.flush()
