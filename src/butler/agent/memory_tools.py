"""The LLM's memory tools. The user is always the turn's authenticated one (ToolContext);
a fact id from the model only ever reaches that user's own facts."""

from __future__ import annotations

import uuid

import asyncpg

from butler.db.pool import connection
from butler.memory.facts import FactStore
from butler.memory.recall import HybridRecall
from butler.tools.base import Tool, ToolContext, ToolError, tool


def memory_tools(pool: asyncpg.Pool, store: FactStore, recall: HybridRecall) -> list[Tool]:
    @tool(label="Remembering that")
    async def remember_fact(ctx: ToolContext, fact: str, category: str = "general") -> str:
        """Remember a durable fact about the user for future conversations, e.g. "Has a
        dog called Biscuit" or "Prefers tea to coffee". Use it when the user tells you
        something about themselves worth keeping, or asks you to remember something."""
        if not fact.strip():
            raise ToolError("The fact is empty.")
        async with connection(pool) as conn:
            stored, created = await store.remember(
                conn, ctx.user.id, fact, category=category[:32], source="user"
            )
        return f"{'Remembered' if created else 'Updated what I knew'}: {stored.fact}"

    @tool(label="Checking my notes")
    async def recall_facts(ctx: ToolContext, query: str) -> str:
        """Search what you remember about the user. Returns matching facts with their ids
        (needed by forget_fact)."""
        vector = await recall.query_vector(ctx.user.id, query)
        async with connection(pool) as conn:
            found = await recall.search(conn, ctx.user.id, query, limit=8, vector=vector)
        if not found:
            return "Nothing remembered about that."
        return "\n".join(f"- {s.fact.fact} (id {s.fact.id})" for s in found)

    @tool(label="Forgetting that")
    async def forget_fact(ctx: ToolContext, fact_id: str) -> str:
        """Forget one remembered fact, by the id recall_facts gave. Use it when the user
        asks you to forget something or says a fact is wrong."""
        try:
            wanted = uuid.UUID(fact_id)
        except ValueError as exc:
            raise ToolError("That is not a fact id; use recall_facts to find it.") from exc
        async with connection(pool) as conn:
            if not await store.delete(conn, ctx.user.id, wanted):
                raise ToolError("No such fact; use recall_facts to find it.")
        return "Forgotten."

    return [remember_fact, recall_facts, forget_fact]
