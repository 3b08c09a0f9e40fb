"""The voice agent: the LLM step streams from the Butler API, and each complete sentence
goes to TTS at once, so the listener hears the first sentence while the rest is written."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterable

from livekit import rtc
from livekit.agents import Agent, FlushSentinel, ModelSettings, llm, stt
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice.agent_activity import _SpeechHandleContextVar

from butler.voice.butler_llm import ButlerAPI
from butler.voice.non_speech import is_not_a_request

log = logging.getLogger(__name__)

SENTENCE_ENDS = (".", "!", "?")
# A planned home action waits this long at most for its reply's turn to be committed
# (the API forgets it after 30 s).
HEARD_WITHIN = 20.0
# Between a sentence's end and the space before the next, inside a streamed chunk
# ("off. Any"): each sentence goes to TTS the moment it is complete.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])(?=\s)")
TRANSCRIPTS = (
    stt.SpeechEventType.INTERIM_TRANSCRIPT,
    stt.SpeechEventType.PREFLIGHT_TRANSCRIPT,
    stt.SpeechEventType.FINAL_TRANSCRIPT,
)


def chunk_text(chunk: llm.ChatChunk | str | FlushSentinel) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, llm.ChatChunk) and chunk.delta and chunk.delta.content:
        return chunk.delta.content
    return ""


class ButlerAgent(Agent):
    def __init__(self, api: ButlerAPI) -> None:
        # The Butler API owns the personality and the tools; the agent holds neither.
        super().__init__(instructions="")
        self.api = api
        self._ending: asyncio.Task[None] | None = None
        self._actions: set[asyncio.Task[None]] = set()

    async def stt_node(
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterable[stt.SpeechEvent | str]:
        """The STT's events, without transcripts that ask nothing (see non_speech)."""
        async for event in Agent.default.stt_node(self, audio, model_settings):
            if (
                isinstance(event, stt.SpeechEvent)
                and event.type in TRANSCRIPTS
                and event.alternatives
                and is_not_a_request(
                    event.alternatives[0].text, butler_speaking=self._reply_in_progress()
                )
            ):
                if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                    log.info("ignored a transcript that asks nothing (a hesitation or 'mm-hmm')")
                continue
            yield event

    def _reply_in_progress(self) -> bool:
        # A reply paused by the sound is still current, and not interrupted.
        speech = self.session.current_speech
        return speech is not None and not speech.done() and not speech.interrupted

    async def llm_node(
        self,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
    ) -> AsyncIterable[llm.ChatChunk | str | FlushSentinel]:
        async for chunk in Agent.default.llm_node(self, chat_ctx, [], model_settings):
            pieces = _SENTENCE_BREAK.split(chunk_text(chunk))
            if len(pieces) == 1:
                yield chunk  # as it came (no sentence ends inside it)
            else:
                for piece in pieces[:-1]:
                    yield piece
                    yield FlushSentinel()
                yield pieces[-1]
            if pieces[-1].rstrip().endswith(SENTENCE_ENDS):
                yield FlushSentinel()
        if self.api.outcome.home_action_id:
            # Carried out once this reply is heard, which a preemptive reply may never be.
            task = asyncio.create_task(
                self._carry_out_when_heard(
                    _SpeechHandleContextVar.get(None), self.api.outcome.home_action_id
                )
            )
            self._actions.add(task)
            task.add_done_callback(self._actions.discard)
        if self.api.outcome.should_end and self._ending is None:
            # The speech this reply belongs to: a preemptive reply is written before its
            # turn is committed, so it is not yet the session's current speech (livekit
            # keeps the handle in a context variable for the reply's tasks).
            goodbye = _SpeechHandleContextVar.get(None)
            self._ending = asyncio.create_task(self._end_after_reply(goodbye))

    async def _carry_out_when_heard(self, reply: SpeechHandle | None, action_id: str) -> None:
        """The reply announced a home action: do it when the turn is committed (the reply
        is scheduled to play); never if the reply was dropped because the person went on
        ("turn off the kitchen lights … in ten minutes")."""
        deadline = time.monotonic() + HEARD_WITHIN
        while reply is not None and not reply.scheduled:
            if reply.done() or reply.interrupted or time.monotonic() > deadline:
                log.info("a home action was dropped: its reply was never heard")
                return
            await asyncio.sleep(0.01)
        ok, said = await self.api.carry_out(action_id)
        if not ok:
            with contextlib.suppress(RuntimeError):  # the session is closing
                self.session.say(said, add_to_chat_ctx=False)

    async def _end_after_reply(self, goodbye: SpeechHandle | None) -> None:
        """The model decided the conversation is over: let the goodbye play, then leave;
        unless it never played in full (a preemptive reply dropped because the person
        went on, or one they spoke over): then the conversation goes on."""
        handle = goodbye or self.session.current_speech
        if handle is not None:
            await handle.wait_for_playout()
            if handle.interrupted:
                self._ending = None
                return
        log.info("conversation ended by the model")
        self.session.shutdown(drain=True)
