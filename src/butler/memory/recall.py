"""Recall: which of a person's facts matter for a message.

Hybrid search: the nearest facts by embedding (pgvector HNSW, cosine) and the best
full-text matches (PostgreSQL tsvector), merged by reciprocal rank fusion. Either half
works alone, so recall still works with embeddings off, or when a query embedding is
late. A turn's context is the most relevant facts, then the person's most certain ones,
within a count and a rough token budget.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from butler.config import MemorySettings
from butler.db.pool import connection
from butler.memory.facts import _COLUMNS, Fact, FactStore, _fact

log = logging.getLogger(__name__)

RRF_K = 60  # the usual constant: ranks 1 and 2 differ little, rank 1 and 50 a lot
CANDIDATES = 40  # from each half before fusion
MAX_EMBEDDINGS_IN_FLIGHT = 2  # about one per core of a small home server
ENOUGH_MATCHES = 3  # full-text matches on every word before "any word" is not tried
# Beyond this cosine distance a "nearest" fact is unrelated (MiniLM: unrelated pairs
# sit around 0.9-1.0, paraphrases below 0.6).
MAX_DISTANCE = 0.8


class FactSource(Protocol):
    async def relevant(self, pool: asyncpg.Pool, user_id: uuid.UUID, query: str) -> list[str]: ...


class NoFacts:
    async def relevant(self, pool: asyncpg.Pool, user_id: uuid.UUID, query: str) -> list[str]:
        return []


@dataclass(frozen=True)
class ScoredFact:
    fact: Fact
    score: float


def text_query(text: str, operator: str = "|") -> str | None:
    """The message's words joined for to_tsquery('english', ...): with `&` a fact must
    have them all, with `|` any one will do.

    Only word characters go in, so nothing a person types can break the query syntax.
    """
    words = re.findall(r"\w+", text.lower())[:32]
    return f" {operator} ".join(dict.fromkeys(words)) or None


_LIVE = "(expires_at IS NULL OR expires_at > now())"
_HALVES = {
    "semantic": f"""
        SELECT id, row_number() OVER (ORDER BY distance) AS rank FROM (
            SELECT id, embedding <=> {{vector}}::vector AS distance FROM butler.user_facts
            WHERE user_id = $1 AND embedding_model = {{model}} AND {_LIVE}
            ORDER BY embedding <=> {{vector}}::vector LIMIT {CANDIDATES}
        ) nearest WHERE distance <= {MAX_DISTANCE}""",
    "lexical": f"""
        SELECT id, row_number() OVER (ORDER BY score DESC) AS rank FROM (
            SELECT id, ts_rank_cd(fact_tsv, q) AS score
            FROM butler.user_facts, to_tsquery('english', {{words}}) q
            WHERE user_id = $1 AND fact_tsv @@ q AND {_LIVE}
            ORDER BY score DESC LIMIT {CANDIDATES}
        ) matched""",
}


def _fused_sql(halves: tuple[str, ...]) -> str:
    """The fusion query over the chosen halves; parameters are numbered in call order:
    $1 user, then the vector and the model id (semantic), the words (lexical), limit, offset."""
    numbers: dict[str, str] = {}
    for name in ("vector", "model") if "semantic" in halves else ():
        numbers[name] = f"${len(numbers) + 2}"
    if "lexical" in halves:
        numbers["words"] = f"${len(numbers) + 2}"
    limit, offset = f"${len(numbers) + 2}", f"${len(numbers) + 3}"
    ctes = ", ".join(f"{h} AS ({_HALVES[h].format(**numbers)})" for h in halves)
    ranks = " UNION ALL ".join(f"SELECT id, rank FROM {h}" for h in halves)
    columns = ", ".join("f." + c.strip() for c in _COLUMNS.split(","))
    lexical_hits = "(SELECT count(*) FROM lexical)" if "lexical" in halves else "0"
    # Fuse the (at most 2 x CANDIDATES) ids first, then fetch only those rows.
    return f"""WITH {ctes},
        fused AS (
            SELECT id, sum(1.0 / ({RRF_K} + rank)) AS score FROM ({ranks}) ranked GROUP BY id
        )
        SELECT {columns}, fused.score, {lexical_hits} AS lexical_hits
        FROM fused JOIN butler.user_facts f ON f.id = fused.id
        WHERE f.user_id = $1
        ORDER BY fused.score DESC, f.confidence DESC, f.updated_at DESC
        LIMIT {limit} OFFSET {offset}"""


_QUERIES: dict[tuple[str, ...], str] = {
    halves: _fused_sql(halves) for halves in (("semantic", "lexical"), ("semantic",), ("lexical",))
}


class HybridRecall:
    """The FactSource the brain uses, and the search behind the memory API and tools."""

    def __init__(self, store: FactStore, settings: MemorySettings) -> None:
        self.store = store
        self.settings = settings
        self._embedding = 0  # query embeddings in flight

    async def query_vector(self, query: str) -> str | None:
        """The query's embedding, or None when embeddings are off, failing, too slow, or
        when enough are already being computed: under a burst of turns, queueing more
        CPU-bound embeddings would only make every turn late, so some recall by text."""
        if self.store.embedder is None or self._embedding >= MAX_EMBEDDINGS_IN_FLIGHT:
            return None
        # Counted until the work itself ends: a timed-out embedding keeps its thread.
        work = asyncio.ensure_future(self.store.embed(query))
        self._embedding += 1
        work.add_done_callback(self._embedding_done)
        try:
            return await asyncio.wait_for(
                asyncio.shield(work), self.settings.embedding_timeout_ms / 1000
            )
        except TimeoutError:
            log.info(
                "query embedding took over %d ms: full-text recall only",
                self.settings.embedding_timeout_ms,
            )
        except Exception as exc:  # an embedding server being down must not cost the turn
            log.warning("query embedding failed (%s): full-text recall only", exc)
        return None

    def _embedding_done(self, work: asyncio.Future[str | None]) -> None:
        self._embedding -= 1
        if not work.cancelled():
            work.exception()  # retrieved, so a late failure is not logged as unhandled

    async def search(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        query: str,
        *,
        limit: int,
        offset: int = 0,
        vector: str | None = None,
        semantic: bool = True,
        lexical: bool = True,
    ) -> list[ScoredFact]:
        # Full text first asks for facts with all the message's words: precise, and cheap
        # even with thousands of facts. Only when too few have them all does it settle
        # for any word.
        every_word = text_query(query, "&") if lexical else None
        rows = await self._fused(
            conn, user_id, vector if semantic else None, every_word, limit, offset
        )
        if every_word is not None and (not rows or rows[0]["lexical_hits"] < ENOUGH_MATCHES):
            any_word = text_query(query, "|")
            if any_word != every_word:
                rows = await self._fused(
                    conn, user_id, vector if semantic else None, any_word, limit, offset
                )
        return [ScoredFact(_fact(r), float(r["score"])) for r in rows]

    async def _fused(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        vector: str | None,
        words: str | None,
        limit: int,
        offset: int,
    ) -> list[asyncpg.Record]:
        halves: list[str] = []
        params: list[Any] = [user_id]
        if vector is not None:
            halves.append("semantic")
            params += [vector, self.store.model_id]
        if words is not None:
            halves.append("lexical")
            params.append(words)
        if not halves:
            return []
        return await conn.fetch(_QUERIES[tuple(halves)], *params, limit, offset)

    async def relevant(self, pool: asyncpg.Pool, user_id: uuid.UUID, query: str) -> list[str]:
        """A turn's facts: the most relevant, then the most certain, within the budgets."""
        if self.settings.context_facts == 0:
            return []
        # The embedding runs before a connection is taken, so it costs no pool time; the
        # brain loads history on another connection meanwhile.
        vector = await self.query_vector(query)
        try:
            async with connection(pool) as conn:
                found = await self.search(
                    conn, user_id, query, limit=self.settings.context_facts, vector=vector
                )
                steady = await conn.fetch(
                    """SELECT id, fact FROM butler.user_facts WHERE user_id = $1
                       ORDER BY confidence DESC, updated_at DESC LIMIT $2""",
                    user_id,
                    self.settings.context_facts,
                )
        except (asyncpg.PostgresError, OSError) as exc:
            # Facts enrich a reply; failing to read them must not cost the reply itself.
            log.warning("fact recall failed, answering without facts: %s", exc)
            return []
        return _within_budget(
            [(s.fact.id, s.fact.fact) for s in found] + [(r["id"], r["fact"]) for r in steady],
            self.settings.context_facts,
            self.settings.context_token_budget,
        )


def _within_budget(candidates: list[tuple[Any, str]], count: int, tokens: int) -> list[str]:
    chosen: list[str] = []
    seen: set[Any] = set()
    spent = 0
    for fact_id, text in candidates:
        cost = len(text) // 4 + 2  # about four characters a token, plus the list marker
        if fact_id in seen or spent + cost > tokens:
            continue
        seen.add(fact_id)
        chosen.append(text)
        spent += cost
        if len(chosen) == count:
            break
    return chosen
