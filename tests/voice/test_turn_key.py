"""Preemptive generation asks the API on an early transcript and again on the whole one,
each time with a new chat message: one user turn must still be stored once."""

from __future__ import annotations

import asyncio

from livekit.agents import llm

from butler.voice.butler_llm import ButlerAPI, ButlerLLM
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import last_user_text, stored
from tests.support import Account
from tests.voice.conftest import voice_api


async def _ask(api: ButlerAPI, transcript: str, earlier: llm.ChatContext | None = None) -> str:
    ctx = earlier.copy() if earlier else llm.ChatContext()
    ctx.add_message(role="user", content=transcript)  # a new message id every time
    parts = []
    async with ButlerLLM(api).chat(chat_ctx=ctx) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.content:
                parts.append(chunk.delta.content)
    return "".join(parts)


def test_an_early_transcript_and_the_whole_one_are_one_stored_turn(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(Reply.say("Calling whom?"), Reply.say("I will remind you at six."))
    api = voice_api(chat_account)

    async def conversation() -> list[str]:
        try:
            replies = [await _ask(api, "Remind me to call my")]  # preemptive, never spoken
            replies.append(await _ask(api, "Remind me to call my mother at six"))
            api.next_turn()  # the butler answered (the worker does this on its reply)
            replies.append(await _ask(api, "Thank you"))
            return replies
        finally:
            await api.aclose()

    replies = asyncio.run(conversation())
    assert replies[:2] == ["Calling whom?", "I will remind you at six."]
    said = [(m["role"], m["content"]) for m in stored(dsn, chat_account.id)]
    assert said == [
        ("user", "Remind me to call my mother at six"),
        ("assistant", "I will remind you at six."),
        ("user", "Thank you"),
        ("assistant", "Certainly."),
    ]


def test_words_said_while_an_unheard_reply_was_prepared_join_the_same_turn(
    chat_account: Account, wire: AnthropicWire, dsn: str
) -> None:
    """ "Remind me to call my mother" … "at six tonight": the reply to the first part was
    interrupted before a word of it played, so livekit kept no assistant message. The
    next request asks about all of it, and it is stored as one turn."""
    wire.play(Reply.say("When?"), Reply.say("I will remind you at six."), Reply.say("Yes."))
    api = voice_api(chat_account)
    history = llm.ChatContext()
    history.add_message(role="user", content="Remind me to call my mother.")

    async def conversation() -> None:
        try:
            await _ask(api, "Remind me to call my mother.")  # prepared, never heard
            await _ask(api, "at six tonight", earlier=history)
            api.next_turn()
            heard = history.copy()
            heard.add_message(role="user", content="at six tonight")
            heard.add_message(role="assistant", content="I will remind you at six.")
            await _ask(api, "Is that right?", earlier=heard)
        finally:
            await api.aclose()

    asyncio.run(conversation())
    assert last_user_text(wire.requests[1]) == "Remind me to call my mother. at six tonight"
    assert last_user_text(wire.requests[2]) == "Is that right?", "a heard reply ends the turn"
    said = [(m["role"], m["content"]) for m in stored(dsn, chat_account.id)]
    assert said == [
        ("user", "Remind me to call my mother. at six tonight"),
        ("assistant", "I will remind you at six."),
        ("user", "Is that right?"),
        ("assistant", "Yes."),
    ]
