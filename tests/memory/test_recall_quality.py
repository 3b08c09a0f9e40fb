"""Hybrid recall on a labelled set: recall@3 >= 0.8, and better than full text alone."""

from __future__ import annotations

import uuid

import asyncpg

from butler.config import MemorySettings
from butler.memory.embeddings import LocalEmbedder
from butler.memory.facts import FactStore
from butler.memory.recall import HybridRecall
from tests.memory.dataset import FACTS, QUERIES
from tests.support import new_user_id, run


def _recall_at_3(dsn: str, *, semantic: bool) -> tuple[float, list[str]]:
    settings = MemorySettings()
    store = FactStore(LocalEmbedder(), settings)
    recall = HybridRecall(store, settings)

    async def evaluate(conn: asyncpg.Connection) -> tuple[float, list[str]]:
        user = await new_user_id(conn)
        ids: dict[uuid.UUID, int] = {}
        for index, text in enumerate(FACTS):
            fact, _ = await store.remember(conn, user, text)
            ids[fact.id] = index
        hits, misses = 0, []
        for question, answers in QUERIES:
            vector = await store.embed(question) if semantic else None
            found = await recall.search(
                conn, user, question, limit=3, vector=vector, semantic=semantic
            )
            if answers & {ids[s.fact.id] for s in found}:
                hits += 1
            else:
                misses.append(question)
        return hits / len(QUERIES), misses

    return run(evaluate, dsn)


def test_hybrid_recall_finds_the_answer_in_the_top_three(dsn: str) -> None:
    assert len(FACTS) >= 30 and len(QUERIES) >= 15
    hybrid, misses = _recall_at_3(dsn, semantic=True)
    text_only, _ = _recall_at_3(dsn, semantic=False)
    print(f"recall@3: hybrid {hybrid:.2f}, full text only {text_only:.2f}; missed {misses}")
    assert hybrid >= 0.8, misses
    assert hybrid > text_only
