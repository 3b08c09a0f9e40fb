"""The turn loop: context → LLM → tools → events, and the write after the reply.

Nothing is written before the reply is complete. If the caller goes away (the async
generator is closed or cancelled), the LLM request is closed with it and nothing about
the turn is stored, so preemptive restarts by the voice worker leave no trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from butler.agent import prompts
from butler.agent.events import (
    AgentEvent,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)
from butler.agent.home_turns import HomeTurns
from butler.agent.quick_answer import QuickAnswer
from butler.agent.timer_turns import TimerTurns
from butler.db.pool import connection
from butler.llm import base as llm
from butler.memory import history
from butler.memory.learning import Learner
from butler.memory.recall import FactSource, NoFacts
from butler.metrics import MODEL_ERRORS, TURNS, count_tokens
from butler.tools import audit
from butler.tools.base import Channel, ToolContext
from butler.tools.registry import ToolOutcome, ToolRegistry
from butler.users.models import User

log = logging.getLogger(__name__)

PARAGRAPH_BREAK = "\n\n"
T = TypeVar("T")


@dataclass(frozen=True)
class BrainSettings:
    history_window: timedelta = timedelta(days=7)
    history_max_messages: int = 40
    max_tool_rounds: int = 5
    max_tokens: int = 1024


@dataclass(frozen=True)
class TurnRequest:
    user: User
    channel: Channel
    text: str
    session_id: str | None = None
    turn_id: str | None = None
    temporary: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    # The caller carries home actions out once its reply is heard (the voice worker,
    # which asks before the turn is over): they are planned, and named in the end event.
    act_when_heard: bool = False
    # Pictures with the words (a WhatsApp photo), shown to a model that can see them.
    images: tuple[llm.ImagePart, ...] = ()


def _background(work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Start `work` now; a failure nobody awaits (the turn went another way) is not
    reported as never retrieved."""
    future = asyncio.ensure_future(work)
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    return future


def history_messages(entries: list[history.HistoryEntry]) -> list[llm.Message]:
    """History as alternating user/assistant messages, starting with the user."""
    merged: list[tuple[str, list[str]]] = []
    for entry in entries:
        if merged and merged[-1][0] == entry.role:
            merged[-1][1].append(entry.content)
        else:
            merged.append((entry.role, [entry.content]))
    while merged and merged[0][0] != "user":
        merged.pop(0)
    return [
        llm.Message.user("\n\n".join(texts))
        if role == "user"
        else llm.Message.assistant("\n\n".join(texts))
        for role, texts in merged
        if any(t.strip() for t in texts)
    ]


def _with_user_turn(
    past: list[llm.Message], text: str, images: tuple[llm.ImagePart, ...] = ()
) -> list[llm.Message]:
    if past and past[-1].role == "user":
        # The last stored turn has no reply (it should not happen, but never send two
        # user messages in a row): keep the new message as the user's latest word.
        past = past[:-1]
    return [*past, llm.Message.user_with_images(text, images)]


class Brain:
    def __init__(
        self,
        pool: asyncpg.Pool,
        provider: llm.LLMProvider | None,
        tools: ToolRegistry,
        settings: BrainSettings,
        *,
        facts: FactSource | None = None,
        learner: Learner | None = None,
        home: HomeTurns | None = None,
        timers: TimerTurns | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.provider = provider
        self.tools = tools
        self.settings = settings
        self.facts = facts or NoFacts()
        self.learner = learner
        self.home = home
        self.timers = timers
        self.clock = clock

    @property
    def ready(self) -> bool:
        """Able to answer something: with a model, or the home's commands without one."""
        return self.provider is not None or self._home_works

    @property
    def _home_works(self) -> bool:
        return self.home is not None and self.home.home.configured

    def prepare(self, user_id: uuid.UUID, text: str) -> None:
        """Start the work a turn for these words will need before its caller is fully
        loaded (the facts' query embedding), so it is under way, not waited for."""
        if self.ready:
            self.facts.prepare(user_id, text)

    async def _context(self, request: TurnRequest) -> tuple[list[llm.Message], list[str]]:
        # Facts (query embedding, then recall) load beside the history, each on its own
        # connection, so the slower of the two sets the wait, not their sum.
        facts = asyncio.create_task(self.facts.relevant(self.pool, request.user.id, request.text))
        try:
            async with connection(self.pool) as conn:
                entries = await history.recent(
                    conn,
                    request.user.id,
                    window=self.settings.history_window,
                    limit=self.settings.history_max_messages,
                )
        except BaseException:
            facts.cancel()
            raise
        return history_messages(entries), await facts

    async def run(self, request: TurnRequest) -> AsyncGenerator[AgentEvent]:
        """Stream one turn. Failures end the stream with a TurnFailed event."""
        async with contextlib.aclosing(self._turn(request)) as events:
            async for event in events:
                if isinstance(event, TurnFinished):
                    TURNS.labels(request.channel, "answered").inc()
                elif isinstance(event, TurnFailed):
                    TURNS.labels(request.channel, "failed").inc()
                yield event

    async def _turn(self, request: TurnRequest) -> AsyncGenerator[AgentEvent]:
        if self.provider is None and not self._home_works:
            raise llm.LLMNotConfigured("No language model is configured.")
        # The model's context loads while the home looks at the words: a home command
        # drops it, anything else finds it (mostly) ready.
        context = (
            _background(self._context(request))
            if self.provider is not None and self._home_works
            else None
        )
        try:
            answer = await self._quick_answer(request)
            if answer is not None:
                async for event in self._home_reply(request, answer):
                    yield event
                return
            if self.provider is None:
                yield TurnFailed(
                    llm.LLMNotConfigured.code,
                    "I can only work the home's devices and timers right now: "
                    "no language model is set up.",
                    False,
                )
                return
            async for event in self._run(self.provider, request, context):
                yield event
        except llm.LLMError as exc:
            log.warning("turn failed for user %s: %s", request.user.id, exc.code)
            MODEL_ERRORS.labels(exc.code).inc()
            yield TurnFailed(exc.code, exc.message, exc.retryable)
        except (asyncpg.PostgresError, OSError) as exc:
            log.error("turn failed on the database: %s", exc)
            yield TurnFailed("unavailable", "I can't reach my memory right now.", True)
        finally:
            if context is not None:
                context.cancel()

    async def _run(
        self,
        provider: llm.LLMProvider,
        request: TurnRequest,
        context: asyncio.Future[tuple[list[llm.Message], list[str]]] | None = None,
    ) -> AsyncIterator[AgentEvent]:
        past, facts = await (context if context is not None else self._context(request))
        user = request.user
        messages = _with_user_turn(past, request.text, request.images)
        ctx = ToolContext(user, request.channel, request.session_id, self.clock)
        system = prompts.system_prompt(user.soul, user, request.channel)
        volatile = prompts.volatile_context(user, self.clock(), facts)
        reply: list[str] = []
        tool_names: list[str] = []

        for round_number in range(1, self.settings.max_tool_rounds + 1):
            last_round = round_number == self.settings.max_tool_rounds
            prompt = llm.Prompt(
                system=system,
                system_volatile=volatile
                + ("\nAnswer now without using any more tools." if last_round else ""),
                messages=tuple(messages),
                tools=self.tools.specs(request.user),
                max_tokens=self.settings.max_tokens,
            )
            text: list[str] = []
            calls: list[llm.ToolCall] = []
            stop: llm.StopReason = "other"
            # Text before a tool call and text after it are two paragraphs, not one
            # glued sentence ("I'll remember that.Noted"): on screen, in history, aloud.
            so_far = "".join(reply)
            separate = bool(so_far.strip()) and not so_far[-1].isspace()
            stream = provider.stream(prompt)
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if isinstance(event, llm.TextDelta):
                        if separate and event.text.strip():
                            separate = False
                            if not event.text[0].isspace():
                                text.append(PARAGRAPH_BREAK)
                                yield TextDelta(PARAGRAPH_BREAK)
                        text.append(event.text)
                        yield TextDelta(event.text)
                    elif isinstance(event, llm.ToolCall):
                        calls.append(event)
                    elif isinstance(event, llm.Stop):
                        stop = event.reason
                    elif isinstance(event, llm.Usage):
                        count_tokens(event)
            reply.extend(text)
            round_text = "".join(text)
            if stop != "tool_use" or not calls or last_round:
                break
            for call in calls:
                yield ToolStarted(call.id, call.name, self.tools.label(call.name))
            outcomes = await self._run_tools(calls, ctx, request)
            for outcome in outcomes:
                tool_names.append(outcome.call.name)
                yield ToolFinished(outcome.call.id, outcome.call.name, not outcome.is_error)
            messages.append(
                llm.Message(
                    "assistant",
                    (
                        *([llm.TextPart(round_text)] if round_text.strip() else []),
                        *(llm.ToolUsePart(c.id, c.name, c.arguments) for c in calls),
                    ),
                )
            )
            messages.append(
                llm.Message(
                    "user",
                    tuple(llm.ToolResultPart(o.call.id, o.content, o.is_error) for o in outcomes),
                )
            )

        reply_text = "".join(reply).strip()
        message_id = None
        if not request.temporary:
            message_id = await self._save(request, reply_text, tool_names)
            if self.learner is not None:
                self.learner.after_turn(user.id, request.text, reply_text)
        yield TurnFinished(message_id, reply_text, ctx.end_requested)

    async def _quick_answer(self, request: TurnRequest) -> QuickAnswer | None:
        """The home's or the timers' answer to the words, if one of them has it."""
        for quick in (self.home, self.timers):
            if quick is not None:
                answer = await quick.answer(
                    request.user,
                    request.text,
                    request.channel,
                    act_when_heard=request.act_when_heard,
                )
                if answer is not None:
                    return answer
        return None

    async def _home_reply(
        self, request: TurnRequest, answer: QuickAnswer
    ) -> AsyncIterator[AgentEvent]:
        """A turn the home answered without the LLM: shown, audited and stored as any."""
        call = llm.ToolCall(f"{answer.tool}-{uuid.uuid4().hex[:12]}", answer.tool, answer.arguments)
        yield ToolStarted(call.id, call.name, answer.label)
        outcome = ToolOutcome(
            call, answer.text, "ok" if answer.ok else "tool_error", answer.duration_ms
        )
        if answer.heard_action is None:  # else audited when carried out
            await self._audit(request, [outcome])
        yield ToolFinished(call.id, call.name, answer.ok)
        yield TextDelta(answer.text)
        message_id = None
        if not request.temporary:
            message_id = await self._save(request, answer.text, [answer.tool])
        yield TurnFinished(message_id, answer.text, False, answer.heard_action)

    async def _run_tools(
        self, calls: list[llm.ToolCall], ctx: ToolContext, request: TurnRequest
    ) -> list[ToolOutcome]:
        # Independent calls from one reply run concurrently; results keep the call order.
        outcomes = list(await asyncio.gather(*(self.tools.run(c, ctx) for c in calls)))
        await self._audit(request, outcomes)
        return outcomes

    async def _audit(self, request: TurnRequest, outcomes: list[ToolOutcome]) -> None:
        try:
            async with connection(self.pool) as conn:
                await audit.record(
                    conn,
                    user_id=request.user.id,
                    channel=request.channel,
                    session_id=request.session_id,
                    outcomes=outcomes,
                )
        except (asyncpg.PostgresError, OSError) as exc:
            # The audit must not cost the person their answer.
            log.error("could not record tool usage: %s", exc)

    async def _save(self, request: TurnRequest, reply_text: str, tools: list[str]) -> int:
        metadata: dict[str, Any] = dict(request.metadata)
        if tools:
            metadata["tools"] = tools
        async with connection(self.pool) as conn:
            return await history.save_turn(
                conn,
                history.CompletedTurn(
                    user_id=request.user.id,
                    channel=request.channel,
                    session_id=request.session_id,
                    user_text=request.text,
                    reply_text=reply_text,
                    turn_id=request.turn_id,
                    reply_metadata=metadata,
                ),
            )


async def collect(events: AsyncGenerator[AgentEvent]) -> TurnFinished:
    """Consume a turn for the JSON routes: its final event, or the failure as an error."""
    async with contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, TurnFinished):
                return event
            if isinstance(event, TurnFailed):
                if event.code == llm.LLMNotConfigured.code:
                    raise llm.LLMNotConfigured(event.message)
                raise llm.LLMError(event.message, retryable=event.retryable, code=event.code)
    raise llm.LLMError(
        "My language model's answer was cut off.", retryable=True, code="llm_broken_stream"
    )
