"""Long-term facts about a person: remember (with de-duplication), list, edit, forget.

Every function takes the user's id from the caller's authenticated identity and puts it
in every WHERE clause: one person's facts are never read or changed through another's.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from butler.config import MemorySettings
from butler.errors import Conflict
from butler.memory.embeddings import Embedder, vector_literal

MAX_FACT_CHARS = 500
FACT_COLUMNS = "id, fact, category, confidence, source, created_at, updated_at"


class FactConflict(Conflict):
    code = "fact_exists"


@dataclass(frozen=True)
class Fact:
    id: uuid.UUID
    fact: str
    category: str
    confidence: float
    source: str
    created_at: datetime
    updated_at: datetime


def fact_of(row: Any) -> Fact:
    return Fact(**{k: row[k] for k in Fact.__dataclass_fields__})


def normalise(text: str) -> str:
    """One line, single spaces, at most MAX_FACT_CHARS characters."""
    return re.sub(r"\s+", " ", text).strip()[:MAX_FACT_CHARS]


class FactStore:
    def __init__(self, embedder: Embedder | None, settings: MemorySettings) -> None:
        self.embedder = embedder
        self.settings = settings

    @property
    def model_id(self) -> str | None:
        return self.embedder.model_id if self.embedder else None

    async def embed(self, text: str) -> str | None:
        if self.embedder is None:
            return None
        [vector] = await self.embedder.embed([text])
        return vector_literal(vector)

    async def remember(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        text: str,
        *,
        category: str = "general",
        confidence: float = 1.0,
        source: str = "user",
    ) -> tuple[Fact, bool]:
        """Store a fact, or refresh the one it repeats; returns (fact, created)."""
        text = normalise(text)
        vector = await self.embed(text)
        async with conn.transaction():
            near = await self._nearest(conn, user_id, vector) if vector is not None else None
            if near is not None and vector is not None:
                try:
                    async with conn.transaction():  # a savepoint
                        fact = await self._refresh(conn, user_id, near, text, vector, confidence)
                    if fact is not None:
                        return fact, False
                except asyncpg.UniqueViolationError:
                    pass  # the new wording is another stored fact word for word: touch that one
            row = await conn.fetchrow(
                f"""INSERT INTO butler.user_facts AS f
                        (user_id, fact, category, confidence, source, embedding, embedding_model)
                    VALUES ($1, $2, $3, $4, $5, $6::vector, $7)
                    ON CONFLICT (user_id, md5(lower(fact))) DO UPDATE
                        SET confidence = greatest(f.confidence, EXCLUDED.confidence),
                            category = EXCLUDED.category, updated_at = now()
                    RETURNING {FACT_COLUMNS}, (xmax = 0) AS created""",
                user_id,
                text,
                category,
                confidence,
                source,
                vector,
                self.model_id,
            )
        assert row is not None  # INSERT ... ON CONFLICT DO UPDATE always returns the row
        return fact_of(row), bool(row["created"])

    async def _nearest(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, vector: str
    ) -> uuid.UUID | None:
        row = await conn.fetchrow(
            """SELECT id, embedding <=> $2::vector AS distance FROM butler.user_facts
               WHERE user_id = $1 AND embedding_model = $3
               ORDER BY embedding <=> $2::vector LIMIT 1""",
            user_id,
            vector,
            self.model_id,
        )
        if row is None or 1 - row["distance"] < self.settings.dedupe_similarity:
            return None
        found: uuid.UUID = row["id"]
        return found

    async def _refresh(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        fact_id: uuid.UUID,
        text: str,
        vector: str,
        confidence: float,
    ) -> Fact | None:
        # The newer wording wins: "I moved to Leeds" replaces "I live in York" only when
        # they are this close, which near-identical restatements are.
        row = await conn.fetchrow(
            f"""UPDATE butler.user_facts
                SET fact = $3, embedding = $4::vector, embedding_model = $5,
                    confidence = greatest(confidence, $6), updated_at = now()
                WHERE id = $2 AND user_id = $1
                RETURNING {FACT_COLUMNS}""",
            user_id,
            fact_id,
            text,
            vector,
            self.model_id,
            confidence,
        )
        return fact_of(row) if row else None  # None: deleted meanwhile

    async def get(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, fact_id: uuid.UUID
    ) -> Fact | None:
        row = await conn.fetchrow(
            f"SELECT {FACT_COLUMNS} FROM butler.user_facts WHERE id = $2 AND user_id = $1",
            user_id,
            fact_id,
        )
        return fact_of(row) if row else None

    async def latest(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, *, limit: int, offset: int = 0
    ) -> list[Fact]:
        rows = await conn.fetch(
            f"""SELECT {FACT_COLUMNS} FROM butler.user_facts WHERE user_id = $1
                ORDER BY updated_at DESC, id LIMIT $2 OFFSET $3""",
            user_id,
            limit,
            offset,
        )
        return [fact_of(r) for r in rows]

    async def update(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        fact_id: uuid.UUID,
        *,
        text: str | None = None,
        category: str | None = None,
        confidence: float | None = None,
    ) -> Fact | None:
        vector = None
        if text is not None:
            text = normalise(text)
            vector = await self.embed(text)
        try:
            row = await conn.fetchrow(
                f"""UPDATE butler.user_facts SET
                        fact = coalesce($3, fact),
                        embedding = CASE WHEN $3::text IS NULL THEN embedding ELSE $4::vector END,
                        embedding_model = CASE WHEN $3::text IS NULL THEN embedding_model
                                               ELSE $5 END,
                        category = coalesce($6, category),
                        confidence = coalesce($7, confidence),
                        updated_at = now()
                    WHERE id = $2 AND user_id = $1
                    RETURNING {FACT_COLUMNS}""",
                user_id,
                fact_id,
                text,
                vector,
                self.model_id,
                category,
                confidence,
            )
        except asyncpg.UniqueViolationError as exc:
            raise FactConflict("Another fact already says exactly that.") from exc
        return fact_of(row) if row else None

    async def delete(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, fact_id: uuid.UUID
    ) -> bool:
        deleted = await conn.fetchval(
            "DELETE FROM butler.user_facts WHERE id = $2 AND user_id = $1 RETURNING id",
            user_id,
            fact_id,
        )
        return deleted is not None


async def forget_everything(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[str, int]:
    """Delete every fact, message, tool record and voice-turn record of one person."""
    counts: dict[str, int] = {}
    async with conn.transaction():
        for table in ("user_facts", "conversation_history", "tool_usage", "voice_turns"):
            status = await conn.execute(f"DELETE FROM butler.{table} WHERE user_id = $1", user_id)
            counts[table] = int(status.split()[-1])
    return counts
