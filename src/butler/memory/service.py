"""Memory as one object for the API: the fact store, recall, the learner, retention."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg

from butler.config import MemorySettings
from butler.db.pool import connection
from butler.llm.base import LLMProvider
from butler.memory.embeddings import Embedder, LocalEmbedder, build_embedder
from butler.memory.facts import FactStore
from butler.memory.learning import Learner
from butler.memory.recall import HybridRecall
from butler.memory.reembed import column_dimensions, stale_count
from butler.memory.retention import RetentionJob

log = logging.getLogger(__name__)


@dataclass
class Memory:
    store: FactStore
    recall: HybridRecall
    learner: Learner | None
    retention: RetentionJob

    def start(self) -> None:
        self.retention.start()

    async def aclose(self) -> None:
        await self.retention.stop()
        if self.learner is not None:
            await self.learner.aclose()


async def _usable(pool: asyncpg.Pool, embedder: Embedder) -> bool:
    """Whether the database can take this embedder's vectors; warns about stale facts."""
    try:
        async with connection(pool) as conn:
            dims = await column_dimensions(conn)
            stale = await stale_count(conn, embedder.model_id)
    except asyncpg.PostgresError as exc:
        # Not migrated yet: /readyz says so; the check runs again at the next start.
        log.warning("memory check skipped: %s", exc)
        return True
    if dims != embedder.dimensions:
        log.warning(
            "The database holds %d-dimension embeddings but %s makes %d: memory uses "
            "full-text recall only until `butler memory reembed` runs",
            dims,
            embedder.model_id,
            embedder.dimensions,
        )
        return False
    if stale:
        log.warning(
            "%d fact(s) have no %s embedding: recall finds them by full text only until "
            "`butler memory reembed` runs",
            stale,
            embedder.model_id,
        )
    return True


@functools.cache
def _shared_local_embedder(cache_dir: Path | None) -> LocalEmbedder:
    # One model per process: every app in it (tests run several) shares the session.
    return LocalEmbedder(cache_dir=cache_dir)


def _embedder(settings: MemorySettings) -> Embedder | None:
    if settings.embedding_provider == "local":
        return _shared_local_embedder(settings.model_cache_dir)
    return build_embedder(settings)


async def open_memory(
    pool: asyncpg.Pool, settings: MemorySettings, learning_provider: LLMProvider | None
) -> Memory:
    embedder = await asyncio.to_thread(_embedder, settings)
    log.info(
        "Memory: embeddings %s, learning %s",
        embedder.model_id if embedder else "off (full-text recall only)",
        "on" if settings.learning and learning_provider else "off",
    )
    if embedder is not None and not await _usable(pool, embedder):
        embedder = None
    store = FactStore(embedder, settings)
    learner = None
    if settings.learning and learning_provider is not None:
        learner = Learner(pool, learning_provider, store, daily_cap=settings.learning_daily_cap)
    retention = RetentionJob(
        pool,
        keep_history=timedelta(days=settings.history_retention_days),
        every=timedelta(hours=settings.retention_interval_hours),
    )
    return Memory(store, HybridRecall(store, settings), learner, retention)
