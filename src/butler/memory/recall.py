"""The hook through which long-term facts reach a turn's context.

The memory issue supplies a real FactSource (hybrid pgvector + full-text recall); until
then a turn gets no facts.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import asyncpg


class FactSource(Protocol):
    async def relevant(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, query: str
    ) -> list[str]: ...


class NoFacts:
    async def relevant(self, conn: asyncpg.Connection, user_id: uuid.UUID, query: str) -> list[str]:
        return []
