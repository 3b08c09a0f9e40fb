"""End-of-turn models that listen to how the speech ended (its rhythm and intonation), on
the CPU and offline: each takes the latest 16 kHz mono audio and returns the probability
that the speaker has finished.

- LiveKit's on-device detector (`turn-detector-v1-mini`, in livekit-local-inference's
  native library): the last 1.2 s. Used directly, so no cloud model can be chosen for it.
- Smart Turn v3.2 (`smart-turn-v3.2-cpu.onnx`, BSD-2, from the pipecat-ai wheel; see
  `turn_model_install`): the last 8 s as Whisper-style log-mel features.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from butler.errors import ConfigError

RATE = 16_000
Audio = np.ndarray[Any, np.dtype[np.int16]]

SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"


def default_smart_turn_path() -> Path:
    """Where `make setup` (python -m butler.voice.turn_model_install) puts the model."""
    return Path(sys.prefix) / "share" / "butler" / SMART_TURN_FILE


class AudioTurnModel(Protocol):
    name: str
    seconds: float  # how much of the latest audio it looks at
    threshold: float  # below this, the speaker has not finished

    def probability(self, audio: Audio) -> float:
        """P(the turn is over) for 16 kHz mono int16 audio that ends now."""


class LiveKitTurnModel:
    name = "livekit turn-detector-v1-mini"
    seconds = 1.2
    # livekit's own English threshold for this model (agents/inference/eot/languages.py).
    threshold = 0.36

    def __init__(self) -> None:
        from livekit.local_inference import EOT, EOT_MAX_SAMPLES

        self._model = EOT()
        self._samples = int(EOT_MAX_SAMPLES)

    def probability(self, audio: Audio) -> float:
        return float(self._model.predict(np.ascontiguousarray(audio[-self._samples :])))


class SmartTurnModel:
    name = "smart-turn v3.2"
    seconds = 8.0
    threshold = 0.5

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        path = path or default_smart_turn_path()
        if not path.is_file():
            raise ConfigError(
                f"the Smart Turn model is not at {path}: run `make setup` (or "
                "`python -m butler.voice.turn_model_install`), or set "
                "BUTLER_VOICE__SMART_TURN_MODEL to the .onnx file"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # two cores: leave one to the rest of the turn
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._samples = int(self.seconds * RATE)
        self._features = FeatureExtractor(
            feature_size=80, sampling_rate=RATE, hop_length=160, chunk_length=8, n_fft=400
        )

    def probability(self, audio: Audio) -> float:
        wave = audio[-self._samples :].astype(np.float32) / 32768.0
        wave = np.pad(wave, (self._samples - len(wave), 0))  # silence before, as trained
        wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
        features = self._features(wave, padding=0)[:, : self._samples // 160]
        batch = features[None].astype(np.float32)
        # onnxruntime runs one session from several threads at once: sessions share it.
        (logits,) = self._session.run(None, {"input_features": batch})
        return float(np.asarray(logits).reshape(-1)[0])


@functools.cache
def load_turn_model(kind: str, smart_turn_path: Path | None = None) -> AudioTurnModel | None:
    """The audio model that `VoiceSettings.end_of_turn` names (None for the text rule
    alone), loaded once per process: sessions share it."""
    if "smart-turn" in kind:
        return SmartTurnModel(smart_turn_path)
    if "livekit" in kind:
        return LiveKitTurnModel()
    return None
