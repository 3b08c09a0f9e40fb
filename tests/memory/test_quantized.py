"""The local model's int8 conversion: made once and cached, rebuilt when damaged, checked
against its source, and deterministic whatever a text is embedded with."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from butler.config import MemorySettings
from butler.errors import ConfigError
from butler.memory import quantized
from butler.memory.embeddings import LocalEmbedder, local_model_files
from butler.memory.facts import FactStore
from butler.memory.recall import HybridRecall

_DIGEST = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalEmbedder, Path]:
    folder = tmp_path_factory.mktemp("models")
    return LocalEmbedder(cache_dir=folder), folder


def test_the_conversion_is_cached_and_reused(
    converted: tuple[LocalEmbedder, Path], caplog: pytest.LogCaptureFixture
) -> None:
    _, folder = converted
    [model] = list(folder.glob("*.onnx"))
    assert model.name.startswith("all-MiniLM-L6-v2-qint8-8199be6f699a395f")
    made = model.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="butler.memory.quantized"):
        LocalEmbedder(cache_dir=folder)
    assert model.stat().st_mtime_ns == made
    assert "preparing the local embedding model" not in caplog.text
    assert not [p for p in folder.iterdir() if p != model]  # no work files left behind


def test_the_int8_model_runs_integer_products_and_agrees_with_its_source(
    converted: tuple[LocalEmbedder, Path],
) -> None:
    import onnx

    _, folder = converted
    [model] = list(folder.glob("*.onnx"))
    ops = {node.op_type for node in onnx.load(str(model)).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    source, _ = local_model_files()
    embedder = converted[0]
    text = "The spare key is under the blue flowerpot"
    assert float(embedder._probe(source, text) @ embedder._probe(model, text)) > 0.95


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    LocalEmbedder(cache_dir=tmp_path)
    [model] = list(tmp_path.glob("*.onnx"))
    model.write_bytes(b"not a model")
    embedder = LocalEmbedder(cache_dir=tmp_path)
    assert model.stat().st_size > 1_000_000
    [vector] = embedder.embed_now(["Is allergic to peanuts"])
    assert abs(float(vector @ vector) - 1) < 1e-4


def test_a_conversion_that_disagrees_with_its_source_is_refused(tmp_path: Path) -> None:
    source, _ = local_model_files()

    def disagreeing(model: Path, text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
        vector = np.zeros(4, dtype=np.float32)
        vector[0 if model == source else 1] = 1.0  # orthogonal: cosine 0
        return vector

    with pytest.raises(ConfigError, match="disagrees with its source"):
        quantized.quantized_model(source, _DIGEST, tmp_path, disagreeing)
    assert not list(tmp_path.glob("*.onnx"))  # nothing half-trusted stays behind


def test_a_cache_path_that_is_a_file_falls_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    occupied = tmp_path / "models"
    occupied.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING):
        folder = quantized._cache_dir_or_temp(occupied)
    assert folder != occupied and folder.is_dir()
    assert "BUTLER_MEMORY__MODEL_CACHE_DIR" in caplog.text


def test_a_text_gets_the_same_vector_alone_or_with_others(
    converted: tuple[LocalEmbedder, Path],
) -> None:
    embedder, _ = converted
    batch = embedder.embed_now(
        ["Has a dog called Biscuit", "The boiler was serviced in October by a man called Dave"]
    )
    alone = embedder.embed_now(["Has a dog called Biscuit"])
    assert np.array_equal(batch[0], alone[0])
    assert batch.shape == (2, 384)


def test_prepare_starts_the_embedding_that_recall_then_uses() -> None:
    calls: list[str] = []

    class Counting:
        model_id = "count-8"
        dimensions = 8

        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            calls.extend(texts)
            await asyncio.sleep(0.01)
            return [[1.0] + [0.0] * 7 for _ in texts]

    settings = MemorySettings(embedding_provider="openai", embedding_dimensions=8)
    recall = HybridRecall(FactStore(Counting(), settings), settings)
    someone = uuid.uuid4()

    async def turn() -> str | None:
        recall.prepare(someone, "where are my keys")
        await asyncio.sleep(0)
        assert calls == ["where are my keys"]  # under way before anything awaits it
        return await recall.query_vector(someone, "where are my keys")

    assert asyncio.run(turn()) == "[" + ",".join(["1.000000"] + ["0.000000"] * 7) + "]"
    assert calls == ["where are my keys"]
