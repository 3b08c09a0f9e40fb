"""Preemptive generation asks the API on an early transcript and again on the whole one,
each time with a new chat message: one user turn must still be stored once."""

from __future__ import annotations

import asyncio

from livekit.agents import llm

from butler.voice.butler_llm import ButlerAPI, ButlerLLM
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored
from tests.support import Account
from tests.voice.conftest import voice_api


async def _ask(api: ButlerAPI, transcript: str) -> str:
    ctx = llm.ChatContext()
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
