"""Automatic learning: after a completed turn, a cheap model call picks out durable facts
about the person and stores them through the same de-duplicating path as the tools.

It runs as a background task after the reply has been stored, so it never delays a
reply; trivial turns are skipped, and each person has a daily cap of extractions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from dataclasses import dataclass

import asyncpg

from butler.auth import rate_limit
from butler.db.pool import connection
from butler.errors import RateLimited
from butler.llm import base as llm
from butler.memory.facts import Fact, FactStore

log = logging.getLogger(__name__)

MAX_FACTS_PER_TURN = 3
_TRIVIAL = re.compile(
    r"^(hi|hello|hey|thanks?( you)?|cheers|ok(ay)?|yes|no|yep|nope|bye|good ?(morning|night|"
    r"evening|afternoon)|what time is it|stop|cancel)\b[\s!.?]*$",
    re.IGNORECASE,
)
_INSTRUCTIONS = """You pick out durable facts about a person from one exchange with their \
household assistant. A durable fact is something the person said about themselves, their \
household, people, preferences, routines, health or plans that will still matter next \
week (for example "Is allergic to peanuts", "Daughter Mia starts school in September"). \
Ignore requests, small talk, what the assistant said unless the person confirmed it, and \
anything that is only true right now. Write each fact as a short third-person statement \
without the person's name. Answer with JSON only: {"facts": [{"fact": "...", "category": \
"person|preference|health|home|schedule|work|general", "confidence": 0.0-1.0}]}, with an \
empty list when there is nothing durable. At most three facts."""


@dataclass(frozen=True)
class LearnedFact:
    fact: str
    category: str
    confidence: float


def is_trivial(text: str) -> bool:
    words = re.findall(r"\w+", text)
    return len(words) < 4 or bool(_TRIVIAL.match(text.strip()))


def parse_facts(answer: str) -> list[LearnedFact]:
    """The model's JSON answer as facts; anything malformed yields nothing, not an error."""
    match = re.search(r"\{.*\}", answer, re.DOTALL)
    if not match:
        return []
    try:
        items = json.loads(match.group(0)).get("facts", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    facts: list[LearnedFact] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("fact"), str):
            continue
        text = item["fact"].strip()
        if not 3 <= len(text) <= 300:
            continue
        category = str(item.get("category") or "general")[:32]
        try:
            confidence = min(1.0, max(0.0, float(item.get("confidence", 0.7))))
        except (TypeError, ValueError):
            confidence = 0.7
        facts.append(LearnedFact(text, category, confidence))
    return facts[:MAX_FACTS_PER_TURN]


class Learner:
    """Schedules and runs extractions; `aclose` waits for none and cancels the rest."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        provider: llm.LLMProvider,
        store: FactStore,
        *,
        daily_cap: int,
    ) -> None:
        self.pool = pool
        self.provider = provider
        self.store = store
        self.daily_cap = daily_cap
        self._tasks: set[asyncio.Task[list[Fact]]] = set()

    def after_turn(self, user_id: uuid.UUID, said: str, reply: str) -> None:
        """Start learning from a stored turn in the background; returns at once."""
        if self.daily_cap == 0 or is_trivial(said):
            return
        task = asyncio.create_task(self.learn(user_id, said, reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def learn(self, user_id: uuid.UUID, said: str, reply: str) -> list[Fact]:
        try:
            async with connection(self.pool) as conn:
                await rate_limit.hit(
                    conn, f"learn:{user_id}", limit=self.daily_cap, window_seconds=86_400
                )
            found = parse_facts(await self._ask(said, reply))
            stored: list[Fact] = []
            async with connection(self.pool) as conn:
                for item in found:
                    fact, _ = await self.store.remember(
                        conn,
                        user_id,
                        item.fact,
                        category=item.category,
                        confidence=item.confidence,
                        source="learned",
                    )
                    stored.append(fact)
            if stored:
                log.info("learned %d fact(s) for user %s", len(stored), user_id)
            return stored
        except RateLimited:
            log.info("learning skipped for user %s: the daily cap is reached", user_id)
        except (llm.LLMError, asyncpg.PostgresError, OSError) as exc:
            log.warning("learning failed for user %s: %s", user_id, exc)
        return []

    async def _ask(self, said: str, reply: str) -> str:
        prompt = llm.Prompt(
            system=_INSTRUCTIONS,
            messages=(
                llm.Message.user(f"The person said:\n{said}\n\nThe assistant answered:\n{reply}"),
            ),
            max_tokens=400,
        )
        parts: list[str] = []
        stream = self.provider.stream(prompt)
        async with contextlib.aclosing(stream):
            async for event in stream:
                if isinstance(event, llm.TextDelta):
                    parts.append(event.text)
        return "".join(parts)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
