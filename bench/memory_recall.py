"""Recall latency with 10,000 facts for one person and 100,000 in the table.

    .venv/bin/python bench/memory_recall.py [--queries 300] [--per-user 10000] [--users 10]

Starts its own embedded PostgreSQL, loads the facts (the measured person's embedded by
the real local model, everyone else's random unit vectors: they only have to be there),
builds the HNSW index, then times, on the same queries:
  - full-text recall alone (the baseline: what works with embeddings off),
  - hybrid recall (HNSW cosine + full text, fused), given the query's vector,
  - a turn's whole fact context (hybrid + the most certain facts + the budget),
  - the local query embedding itself (it runs beside the history query in a turn).
Goal: hybrid recall p95 <= 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile
from butler.config import MemorySettings
from butler.db import migrate
from butler.db.embedded import EmbeddedPostgres
from butler.db.pool import create_pool
from butler.memory.embeddings import LocalEmbedder, vector_literal
from butler.memory.facts import FactStore
from butler.memory.recall import HybridRecall

PEOPLE = ["sister", "brother", "mum", "dad", "friend", "neighbour", "boss", "dentist", "son"]
NAMES = ["Jane", "Tom", "Mia", "Leo", "Sam", "Priya", "Omar", "Lucy", "Ana", "Ben", "Zoe"]
PLACES = ["Leeds", "York", "Bristol", "Melbourne", "Lisbon", "Glasgow", "Cardiff", "Oslo"]
THINGS = ["tea", "jazz", "football", "chess", "gardening", "crime novels", "running", "curry"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TEMPLATES = [
    "{Person} {name} lives in {place}",
    "Likes {thing} on {day}s",
    "{Person} {name}'s birthday is in {month}",
    "Goes to {place} every {month}",
    "Does not like {thing}",
    "Has {thing} with {name} on {day}",
    "{Person} {name} works in {place}",
    "Booked a trip to {place} in {month}",
]
MONTHS = ["January", "March", "May", "July", "September", "November"]
QUESTIONS = [
    "Where does my {person} live?",
    "What do I do on {day}s?",
    "When is {name}'s birthday?",
    "What don't I like?",
    "Who works in {place}?",
    "When am I going to {place}?",
]


def fact_text(rng: random.Random, n: int) -> str:
    person = rng.choice(PEOPLE)
    return (
        rng.choice(TEMPLATES).format(
            Person=person.capitalize(),
            name=rng.choice(NAMES),
            place=rng.choice(PLACES),
            thing=rng.choice(THINGS),
            day=rng.choice(DAYS),
            month=rng.choice(MONTHS),
        )
        + f" (note {n})"
    )


def question(rng: random.Random) -> str:
    return rng.choice(QUESTIONS).format(
        person=rng.choice(PEOPLE),
        day=rng.choice(DAYS),
        name=rng.choice(NAMES),
        place=rng.choice(PLACES),
    )


def tsv_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


async def load(dsn: str, args: argparse.Namespace, embedder: LocalEmbedder) -> uuid.UUID:
    rng = random.Random(7)
    np_rng = np.random.default_rng(7)
    conn = await asyncpg.connect(dsn)
    try:
        users = []
        for i in range(args.users):
            users.append(
                await conn.fetchval(
                    "INSERT INTO butler.users (username, display_name)"
                    " VALUES ($1, $1) RETURNING id",
                    f"bench{i}",
                )
            )
        await conn.execute("DROP INDEX butler.user_facts_embedding_idx")
        started = time.perf_counter()
        for index, user in enumerate(users):
            texts = [fact_text(rng, n) for n in range(args.per_user)]
            if index == 0:
                vectors = np.concatenate(
                    [embedder.embed_now(texts[i : i + 256]) for i in range(0, len(texts), 256)]
                )
                model = embedder.model_id
            else:
                vectors = np_rng.standard_normal((len(texts), 384)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                model = embedder.model_id
            rows = "".join(
                f"{user}\t{tsv_escape(t)}\t{rng.random():.3f}\t{vector_literal(v)}\t{model}\n"
                for t, v in zip(texts, vectors, strict=True)
            )
            await conn.copy_to_table(
                "user_facts",
                schema_name="butler",
                source=io.BytesIO(rows.encode()),
                columns=["user_id", "fact", "confidence", "embedding", "embedding_model"],
                format="text",
            )
            print(
                f"  loaded {(index + 1) * args.per_user:,} facts "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        await conn.execute("SET maintenance_work_mem = '1GB'")
        started = time.perf_counter()
        await conn.execute(
            "CREATE INDEX user_facts_embedding_idx ON butler.user_facts "
            "USING hnsw (embedding vector_cosine_ops)"
        )
        await conn.execute("VACUUM ANALYZE butler.user_facts")  # as after any bulk load
        print(f"  HNSW index built in {time.perf_counter() - started:.0f} s", flush=True)
        return users[0]
    finally:
        await conn.close()


def report(name: str, samples: list[float], baseline: list[float] | None = None) -> None:
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    ratio = ""
    if baseline:
        ratio = f"  ({p95 / percentile(baseline, 95):.2f}x the baseline's p95)"
    print(f"  {name:<44} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms{ratio}")


async def measure(
    dsn: str, user: uuid.UUID, args: argparse.Namespace, embedder: LocalEmbedder
) -> None:
    settings = MemorySettings()
    store = FactStore(embedder, settings)
    recall = HybridRecall(store, settings)
    rng = random.Random(11)
    questions = [question(rng) for _ in range(args.queries)]
    vectors = [vector_literal(v) for v in embedder.embed_now(questions)]
    pool = await create_pool(dsn, max_size=4)
    try:
        timings: dict[str, list[float]] = {k: [] for k in ("text", "hybrid", "context", "embed")}
        async with pool.acquire() as conn:
            for q, v in zip(questions[:20], vectors[:20], strict=True):  # warm the caches
                await recall.search(conn, user, q, limit=8, vector=v)
            for q, v in zip(questions, vectors, strict=True):
                t = time.perf_counter()
                await recall.search(conn, user, q, limit=8, vector=None, semantic=False)
                timings["text"].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                found = await recall.search(conn, user, q, limit=8, vector=v)
                timings["hybrid"].append((time.perf_counter() - t) * 1000)
                assert found, q
        for q in questions:
            t = time.perf_counter()
            await asyncio.to_thread(embedder.embed_now, [q])
            timings["embed"].append((time.perf_counter() - t) * 1000)
        # The turn path, with the embedding already computed: what the 10 ms goal covers.
        recall.query_vector = _cached(dict(zip(questions, vectors, strict=True)))  # type: ignore[method-assign]
        for q in questions:
            t = time.perf_counter()
            await recall.relevant(pool, user, q)
            timings["context"].append((time.perf_counter() - t) * 1000)
    finally:
        await pool.close()
    print(
        f"\n{args.queries} queries, {args.per_user:,} facts for the person, "
        f"{args.per_user * args.users:,} in the table:"
    )
    report("full-text recall only (baseline)", timings["text"])
    report("hybrid recall (HNSW + full text, RRF)", timings["hybrid"], timings["text"])
    report("turn context (hybrid + most certain)", timings["context"], timings["text"])
    report("query embedding (local int8 MiniLM)", timings["embed"])
    p95 = percentile(timings["hybrid"], 95)
    print(f"\ngoal: hybrid recall p95 <= 10 ms: {'met' if p95 <= 10 else 'NOT met'} ({p95:.2f} ms)")


def _cached(table: dict[str, str]):  # type: ignore[no-untyped-def]
    async def query_vector(user_id: uuid.UUID, query: str) -> str | None:
        return table[query]

    return query_vector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--per-user", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    embedder = LocalEmbedder()  # as the server runs it: one thread
    with (
        tempfile.TemporaryDirectory(prefix="butler-bench-") as folder,
        EmbeddedPostgres(Path(folder)) as embedded,
    ):
        migrate.upgrade(embedded.dsn)
        print("loading facts…", flush=True)
        user = asyncio.run(load(embedded.dsn, args, embedder))
        asyncio.run(measure(embedded.dsn, user, args, embedder))


if __name__ == "__main__":
    main()
