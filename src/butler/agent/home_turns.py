"""Turns the home answers before the LLM, or with none configured: a yes to an action
that waited for one, and the fast path (a home command matched without a model)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from butler.agent.quick_answer import QuickAnswer
from butler.home.actions import describe_state
from butler.home.errors import HomeError
from butler.home.fast_path import FastPath, Plan
from butler.home.service import HomeService, is_yes
from butler.tools.base import Channel
from butler.users.models import Soul, User

CONFIRMED = "home_confirmed"
# Longer than the longest wait before a voice turn is committed (1.6 s after the end of
# speech, which the worker's early request precedes).
VOICE_CONFIRM_HOLD = 1.7
FAST_PATH = "home_fast_path"
_OPENERS = {
    "warm": "Done.",
    "formal": "Very good.",
    "casual": "Sure.",
    "playful": "Consider it done!",
}


def in_voice(soul: Soul, said: str, *, acted: bool) -> str:
    """The result as the butler says it: an opener in the person's chosen style."""
    if not acted or soul.verbosity == "brief":
        return said
    return f"{_OPENERS.get(soul.style, 'Done.')} {said}"


class HomeTurns:
    def __init__(
        self,
        home: HomeService,
        fast_path: FastPath | None = None,
        *,
        voice_confirm_hold: float = VOICE_CONFIRM_HOLD,
    ) -> None:
        self.home = home
        self.fast_path = fast_path
        self.voice_confirm_hold = voice_confirm_hold

    async def answer(
        self, user: User, text: str, channel: Channel = "text", *, act_when_heard: bool = False
    ) -> QuickAnswer | None:
        """The home's answer to these words, or None for the LLM to answer them.

        `act_when_heard`: the caller (the voice worker) asked at the speaker's first pause
        and carries an action out only once its reply is heard; the action is planned."""
        if not self.home.configured:
            return None
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        if channel == "voice" and is_yes(text) and await self.home.has_pending(user.id):
            # The voice worker asks at the first pause, before the turn is over: a "yes"
            # there may go on ("yes … no, wait"). It is carried out only if this request
            # outlives the turn's end; the worker cancels it if the person goes on.
            await asyncio.sleep(self.voice_confirm_hold)
        try:
            done = await self.home.answer_pending(user, text)
        except HomeError as exc:
            return QuickAnswer(exc.message, CONFIRMED, {"text": text}, False, elapsed())
        if done is not None:
            said = in_voice(user.soul, done.said, acted=True)
            return QuickAnswer(
                said, CONFIRMED, {"entity_ids": list(done.entity_ids)}, True, elapsed()
            )
        plan = await self._plan(user, text)
        if plan is None:
            return None
        arguments: dict[str, Any] = {"intent": plan.intent, "entity_ids": list(plan.entity_ids)}
        try:
            if plan.request is None:
                entities = [await self.home.entity(user, i) for i in plan.entity_ids]
                said = " ".join(f"{describe_state(e)}." for e in entities)
                return QuickAnswer(said, FAST_PATH, arguments, True, elapsed())
            arguments |= {"action": plan.request.action, "value": plan.request.value}
            if act_when_heard:
                action_id, done = await self.home.plan_until_heard(
                    user, plan.entity_ids, plan.request
                )
                said = in_voice(user.soul, done.said, acted=True)
                return QuickAnswer(said, FAST_PATH, arguments, True, elapsed(), action_id)
            done = await self.home.act(user, plan.entity_ids, plan.request)
        except HomeError as exc:
            return QuickAnswer(exc.message, FAST_PATH, arguments, False, elapsed())
        return QuickAnswer(
            in_voice(user.soul, done.said, acted=True), FAST_PATH, arguments, True, elapsed()
        )

    async def _plan(self, user: User, text: str) -> Plan | None:
        client = self.home.client
        if self.fast_path is None or client is None or not client.connected:
            return None
        try:
            entities = await self.home.visible(user)
        except HomeError:
            return None
        registry = self.home.registry
        plan = await asyncio.to_thread(
            self.fast_path.plan,
            text,
            entities,
            list(registry.areas.values()),
            list(registry.floors.values()),
            registry.generation,
        )
        # Whatever needs a yes is only read on the fast path: the LLM asks the question.
        # (Checked on the plan's few devices, not on every device before matching.)
        if plan is not None and plan.request is not None:
            chosen = [registry.entity(i) for i in plan.entity_ids]
            if any(e is None or self.home.exposure.of(e).needs_confirmation for e in chosen):
                return None
        return plan
