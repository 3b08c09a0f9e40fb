"""Embeddings: the local model's files are verified, an OpenAI-compatible server works
through the real SDK, a slow embedding never holds up recall, and `reembed` moves the
facts to another model or dimension."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from butler.config import MemorySettings
from butler.db import migrate
from butler.db.embedded import EmbeddedPostgres
from butler.errors import ConfigError
from butler.memory.embeddings import (
    LocalEmbedder,
    OpenAIEmbedder,
    _verified,
    local_model_files,
)
from butler.memory.facts import FactStore
from butler.memory.recall import HybridRecall, text_query
from butler.memory.reembed import column_dimensions, reembed
from tests.support import free_port, new_user_id, run


def test_the_local_model_files_pass_their_checksums(tmp_path: Path) -> None:
    model, tokenizer = local_model_files()
    assert model.name == "model.onnx" and tokenizer.name == "tokenizer.json"
    tampered = tmp_path / "model.onnx"
    tampered.write_bytes(model.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ConfigError, match="SHA-256"):
        _verified(tampered, "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6", "x")
    with pytest.raises(ConfigError, match="missing"):
        _verified(tmp_path / "gone.onnx", "0" * 64, "embedding model")


def test_the_local_model_refuses_another_dimension() -> None:
    with pytest.raises(ValueError, match="BUTLER_MEMORY__EMBEDDING_DIMENSIONS=384"):
        MemorySettings(embedding_dimensions=768)
    assert MemorySettings(embedding_provider="openai", embedding_dimensions=768)


def test_local_vectors_are_unit_length_and_put_paraphrases_close() -> None:
    embedder = LocalEmbedder()
    a, b, c = embedder.embed_now(
        ["Has a dog called Biscuit", "Has a dog named Biscuit", "The boiler needs a service"]
    )
    assert abs(float(a @ a) - 1) < 1e-4
    assert float(a @ b) > 0.9 > float(a @ c)
    again = embedder.embed_now(["Has a dog called Biscuit"])[0]
    assert float(a @ again) > 0.9999  # deterministic


def test_text_queries_keep_only_words() -> None:
    assert text_query("Where's my dog's lead?") == "where | s | my | dog | lead"
    assert text_query("a' | !b:* & (c) <-> ''") == "a | b | c"
    assert text_query("!!! ???") is None


@pytest.fixture
def embeddings_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An OpenAI-compatible /v1/embeddings endpoint: 8-dimension vectors from word counts."""
    seen: list[dict[str, Any]] = []

    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append(body)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": [len(t), t.count(" ") + 1.0, 0, 3.0, 0, 0, 0, 0],
            }
            for i, t in enumerate(body["input"])
        ]
        data.reverse()  # the SDK's caller must order by index
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", seen
    server.should_exit = True
    thread.join(timeout=5)


def test_an_openai_compatible_server_embeds_through_the_sdk(
    embeddings_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = embeddings_server
    settings = MemorySettings(
        embedding_provider="openai",
        embedding_base_url=url,
        embedding_model="nomic-embed-text",
        embedding_dimensions=8,
    )
    vectors = asyncio.run(OpenAIEmbedder(settings).embed(["one", "two words"]))
    assert seen[-1]["model"] == "nomic-embed-text"
    assert seen[-1]["input"] == ["one", "two words"]
    assert vectors[0][0] == pytest.approx(3 / (9 + 1 + 9) ** 0.5)  # index 0, normalised
    assert vectors[1][1] == pytest.approx(2 / (81 + 4 + 9) ** 0.5)
    wrong = settings.model_copy(update={"embedding_dimensions": 16})
    with pytest.raises(ConfigError, match="returned 8 dimensions"):
        asyncio.run(OpenAIEmbedder(wrong).embed(["x"]))
    with pytest.raises(ConfigError, match="EMBEDDING_BASE_URL"):
        OpenAIEmbedder(MemorySettings(embedding_provider="openai"))


class SlowEmbedder:
    model_id = "slow"
    dimensions = 384

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        await asyncio.sleep(2)
        return [[0.0] * 384 for _ in texts]


def test_a_slow_query_embedding_falls_back_to_full_text(dsn: str) -> None:
    settings = MemorySettings(embedding_timeout_ms=50)
    plain = FactStore(None, settings)  # store without embeddings, recall with a slow one

    async def scenario(conn: asyncpg.Connection) -> tuple[list[str], float]:
        user = await new_user_id(conn)
        await plain.remember(conn, user, "The spare key is under the blue flowerpot")
        await plain.remember(conn, user, "Likes jazz")
        recall = HybridRecall(FactStore(SlowEmbedder(), settings), settings)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            started = time.monotonic()
            facts = await recall.relevant(pool, user, "where is the spare key")
            return facts, time.monotonic() - started
        finally:
            await pool.close()

    facts, took = run(scenario, dsn)
    assert facts[0] == "The spare key is under the blue flowerpot"
    assert took < 1.0


def test_a_burst_of_turns_does_not_queue_embeddings() -> None:
    settings = MemorySettings(embedding_timeout_ms=100)
    recall = HybridRecall(FactStore(SlowEmbedder(), settings), settings)

    async def burst() -> tuple[list[str | None], float, int]:
        started = time.monotonic()
        someone = uuid.uuid4()
        results = await asyncio.gather(*(recall.query_vector(someone, f"q{n}") for n in range(6)))
        took = time.monotonic() - started
        return list(results), took, recall._embedding

    results, took, in_flight = asyncio.run(burst())
    assert results == [None] * 6  # two timed out, four never started
    assert took < 0.5
    assert in_flight == 2  # the two slow ones still count until their work ends


def test_a_repeated_transcript_is_embedded_once() -> None:
    calls: list[str] = []

    class Counting(TinyEmbedder):
        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            calls.extend(texts)
            return await super().embed(texts)

    settings = MemorySettings()
    recall = HybridRecall(FactStore(Counting(), settings), settings)

    async def restarts() -> list[str | None]:
        said = ("turn off the lights",) * 3 + ("hi",)
        someone, another = uuid.uuid4(), uuid.uuid4()
        vectors = [await recall.query_vector(someone, words) for words in said]
        # Another person's identical words are embedded for them: no one can time
        # whether someone else said the same thing.
        vectors.append(await recall.query_vector(another, "hi"))
        return vectors

    vectors = asyncio.run(restarts())
    assert calls == ["turn off the lights", "hi", "hi"]
    assert vectors[0] == vectors[1] == vectors[2] != vectors[3] == vectors[4]


class TinyEmbedder:
    model_id = "tiny-8"
    dimensions = 8

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0 if i == len(t) % 8 else 0.0 for i in range(8)] for t in texts]


def test_reembed_moves_facts_to_another_dimension_and_back(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "data") as embedded:
        migrate.upgrade(embedded.dsn)

        async def to_tiny() -> tuple[list[tuple[int, int]], int, int]:
            conn = await asyncpg.connect(embedded.dsn)
            try:
                user = await new_user_id(conn)
                for n in range(70):
                    await conn.execute(
                        "INSERT INTO butler.user_facts (user_id, fact) VALUES ($1, $2)",
                        user,
                        f"Fact number {n} about the house",
                    )
                steps: list[tuple[int, int]] = []
                count = await reembed(
                    conn,
                    TinyEmbedder(),
                    everything=False,
                    progress=lambda d, t: steps.append((d, t)),
                )
                missing = await conn.fetchval(
                    "SELECT count(*) FROM butler.user_facts WHERE embedding_model <> 'tiny-8'"
                )
                assert await column_dimensions(conn) == 8
                return steps, count, missing
            finally:
                await conn.close()

        steps, count, missing = asyncio.run(to_tiny())
        assert count == 70 and missing == 0
        assert steps == [(0, 70), (64, 70), (70, 70)]

        env = {k: v for k, v in os.environ.items() if not k.startswith("BUTLER_")}
        env.update(BUTLER_DATA_DIR=str(tmp_path / "cli"), BUTLER_DATABASE_URL=embedded.dsn)
        result = subprocess.run(
            [sys.executable, "-m", "butler", "memory", "reembed"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "70/70 100%" in result.stderr
        assert "Re-embedded 70 fact(s) with all-MiniLM-L6-v2-qint8" in result.stdout

        async def dims() -> int:
            conn = await asyncpg.connect(embedded.dsn)
            try:
                return await column_dimensions(conn)
            finally:
                await conn.close()

        assert asyncio.run(dims()) == 384
        off = subprocess.run(
            [sys.executable, "-m", "butler", "memory", "reembed"],
            env={**env, "BUTLER_MEMORY__EMBEDDING_PROVIDER": "none"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert off.returncode == 2 and "embeddings are off" in off.stderr
