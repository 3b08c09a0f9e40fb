"""Voice for real: a person in a LiveKit room (the official rtc SDK, as the app's
library is) talks to the butler that `butler serve` dispatched, over the real LiveKit
server, with the real worker, local whisper and Piper. Speech is espeak-ng."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored, wait_for
from tests.stack.conftest import LiveStack
from tests.stack.room_client import RATE, VoiceClient, voice_token
from tests.support import Account, register
from tests.voice.conftest import Speech

from butler.voice.local_stt import LocalSTT


def _transcribe(stt: LocalSTT, samples: np.ndarray[Any, Any]) -> str:
    """What whisper hears in audio received from the room (48 kHz)."""
    from livekit import rtc

    frame = rtc.AudioFrame(samples.astype(np.int16).tobytes(), RATE, 1, len(samples))

    async def run() -> str:
        event = await stt.recognize([frame])
        return event.alternatives[0].text if event.alternatives else ""

    return asyncio.run(run())


def _words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split() if w.strip(".,!?")}


def test_a_spoken_question_is_answered_in_the_room_and_stored_once(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
    local_stt: LocalSTT,
) -> None:
    account = register(live_stack.api_url, dsn)
    reply = "The kitchen lights are off now."
    wire.default = Reply.say(reply)
    question, rate = speak("Please turn off the kitchen lights.")
    grant = voice_token(live_stack.api_url, account.access_token)

    async def conversation() -> tuple[VoiceClient, float]:
        async with VoiceClient(grant["livekit_url"], grant["livekit_token"]) as client:
            assert await client.wait_for_state("listening", 60), client.record.states
            await asyncio.sleep(0.5)
            ended = await client.say(question, rate)
            await client.wait_for_silence(ended, quiet_seconds=1.5, within=30)
            await asyncio.sleep(1.0)  # the final transcript streams
            return client, ended

    client, ended = asyncio.run(conversation())
    record = client.record
    first = record.first_audio_after(ended)
    assert first is not None, "no audio came back"
    heard = _transcribe(local_stt, record.audio(start=ended))
    assert {"kitchen", "lights", "off"} <= _words(heard), heard
    # Transcripts of both sides arrive on lk.transcription, the state from the agent.
    assert any("light" in t.lower() for t in record.person_said(client.identity)), record
    assert any(reply.rstrip(".") in t for t in record.butler_said(client.identity)), record
    states = [s for _, s in record.states]
    assert {"listening", "thinking", "speaking"} <= set(states), states
    assert states.index("thinking") < states.index("speaking")

    turns = stored(dsn, account.id)
    assert [(t["role"], t["channel"]) for t in turns] == [
        ("user", "voice"),
        ("assistant", "voice"),
    ]
    assert "light" in turns[0]["content"].lower()
    assert turns[1]["content"] == reply


def test_speaking_over_the_reply_stops_it_and_keeps_what_was_heard(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
) -> None:
    account = register(live_stack.api_url, dsn)
    long_reply = " ".join(
        f"Here is the news item number {n}, which goes on for a while." for n in range(1, 9)
    )
    wire.default = Reply.say(long_reply)
    wire.answer({"time": Reply.say("It is noon.")})
    question, rate = speak("Tell me the news.")
    interruption, _ = speak("Stop. What time is it?")
    grant = voice_token(live_stack.api_url, account.access_token)

    async def conversation() -> tuple[VoiceClient, float]:
        async with VoiceClient(grant["livekit_url"], grant["livekit_token"]) as client:
            assert await client.wait_for_state("listening", 60)
            await asyncio.sleep(0.5)
            ended = await client.say(question, rate)
            deadline = time.monotonic() + 20
            while client.record.first_audio_after(ended) is None:
                assert time.monotonic() < deadline, "the reply never started"
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # well into the reply
            barge = asyncio.create_task(client.say(interruption, rate))
            await asyncio.sleep(0.05)
            barge_start = client.speech_started[-1]
            await barge
            await client.wait_for_silence(barge_start, quiet_seconds=2.0, within=20)
            # The butler's caption of the cut reply is final only once the interruption
            # is settled; on a loaded machine it can come after the audio went quiet.
            captioned = time.monotonic() + 10
            while time.monotonic() < captioned and not any(  # noqa: ASYNC110 (a record)
                t.identity != client.identity and "news" in t.text and t.final
                for t in client.record.transcripts
            ):
                await asyncio.sleep(0.1)
            return client, barge_start

    client, barge_start = asyncio.run(conversation())
    record = client.record
    stopped = record.stopped_after(barge_start, gap=0.2)
    assert stopped is not None
    took = stopped - barge_start
    timeline = [
        (round((f.at - barge_start) * 1000), int(f.rms))
        for f in record.frames
        if barge_start - 0.1 <= f.at <= barge_start + 1.0
    ]
    states = [(round((at - barge_start) * 1000), s) for at, s in record.states if at > barge_start]
    # The goal is 0.3 s, and bench/voice_webrtc.py measures it (297 ms p50 over a real
    # room). Here the bound only proves the reply stops on speech rather than running on:
    # on a loaded 2-core CI machine one sample has taken 459 ms, and the reply had
    # seconds left to say.
    assert took <= 0.75, (
        f"the butler kept talking {took * 1000:.0f} ms over the person: {timeline[::5]} {states}"
    )

    # History keeps what the person heard: the stored reply matches the butler's caption
    # of it in the room (synchronised with its audio), cut where the audio was cut.
    # (Now and then livekit judges the interruption false and resumes the reply to the
    # end; then both are whole: a turn-taking matter for #13, not a storage one.)
    heard = next(
        (t.text for t in record.transcripts if t.identity != client.identity and "news" in t.text),
        "",
    )
    assert heard, record.transcripts

    def news_reply() -> str:
        turns = stored(dsn, account.id)
        replies = [
            t["content"] for t in turns if t["role"] == "assistant" and "news" in t["content"]
        ]
        return replies[0] if replies else ""

    def matches_what_was_heard() -> bool:
        kept = news_reply()
        return bool(kept) and abs(len(kept.split()) - len(heard.split())) <= 3

    assert wait_for(matches_what_was_heard, timeout=10), (news_reply(), heard)
    kept = news_reply()
    assert long_reply.startswith(kept.rstrip(".… ")[:20]), kept
    if len(heard) < len(long_reply) / 2:  # cut off (the usual case): stored as interrupted
        interrupted = [
            t for t in stored(dsn, account.id) if (t.get("metadata") or {}).get("interrupted")
        ]
        assert interrupted, stored(dsn, account.id)


def test_two_people_at_once_each_hear_only_their_own_replies(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    speak: Callable[..., Speech],
) -> None:
    people = [register(live_stack.api_url, dsn) for _ in range(2)]
    garden, oven = Reply.say("The garden gate is locked."), Reply.say("The oven is off.")
    # Each person's turn names them in the system prompt: the reply follows the person,
    # not a word tiny.en may mishear.
    names = {people[0].user["display_name"]: garden, people[1].user["display_name"]: oven}
    wire.route(
        lambda request: next(
            (reply for name, reply in names.items() if name in json.dumps(request.get("system"))),
            None,
        )
    )
    questions = {"garden": speak("Is the garden gate locked?"), "oven": speak("Is the oven off?")}

    async def both() -> list[VoiceClient]:
        async def one(account: Account, topic: str) -> VoiceClient:
            grant = voice_token(live_stack.api_url, account.access_token)
            async with VoiceClient(grant["livekit_url"], grant["livekit_token"]) as client:
                assert await client.wait_for_state("listening", 90)
                await asyncio.sleep(0.5)
                samples, rate = questions[topic]
                ended = await client.say(samples, rate)
                await client.wait_for_silence(ended, quiet_seconds=1.5, within=40)
                await asyncio.sleep(1.0)
                return client

        return list(await asyncio.gather(one(people[0], "garden"), one(people[1], "oven")))

    first, second = asyncio.run(both())
    assert any("garden" in t for t in first.record.butler_said(first.identity))
    assert not any("oven" in t for t in first.record.butler_said(first.identity))
    assert any("oven" in t for t in second.record.butler_said(second.identity))
    assert not any("garden" in t for t in second.record.butler_said(second.identity))
    assert "garden" in stored(dsn, people[0].id)[-1]["content"]
    assert "oven" in stored(dsn, people[1].id)[-1]["content"]


def test_the_signalling_relay_passes_only_livekit_signalling(
    live_stack: LiveStack, dsn: str
) -> None:
    """Butler's origin relays the embedded server's signalling (api/routes/livekit_relay):
    a refused token is refused there too, with LiveKit's reason on `validate`; no other
    path reaches the server; and the token never reaches Butler's log."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    account = register(live_stack.api_url, dsn)
    grant = voice_token(live_stack.api_url, account.access_token)
    relay = grant["livekit_url"]
    assert relay == live_stack.api_url.replace("http", "ws") + "/livekit"

    # A forged token: refused before any message, and `validate` says why.
    forged = grant["livekit_token"][:-4] + "AAAA"
    try:
        with connect(f"{relay}/rtc?access_token={forged}", open_timeout=10):
            raise AssertionError("a forged token was let through")
    except InvalidStatus as refused:
        assert refused.response.status_code == 403
    why = httpx.get(f"{live_stack.api_url}/livekit/rtc/validate", params={"access_token": forged})
    assert why.status_code == 401, why.text
    # Anything but the signalling paths is closed at once or not found.
    for path in ("twirp/livekit.RoomService/ListRooms", "rtc/../twirp", "metrics"):
        try:
            with connect(f"{relay}/{path}", open_timeout=10) as socket:
                raise AssertionError(f"/{path} was relayed: {socket}")
        except InvalidStatus as refused:
            assert refused.response.status_code == 403
    listing = httpx.post(f"{live_stack.api_url}/livekit/twirp/livekit.RoomService/ListRooms")
    assert listing.status_code in (404, 405)
    assert httpx.get(f"{live_stack.api_url}/livekit/").status_code == 404

    # The real token works through the relay (the first signalling message arrives).
    with connect(f"{relay}/rtc?access_token={grant['livekit_token']}", open_timeout=10) as ok:
        assert isinstance(ok.recv(timeout=10), bytes)
    log = (live_stack.data_dir / "serve.log").read_text()
    assert "/livekit/rtc" in log and "access_token=<redacted>" in log
    assert grant["livekit_token"] not in log and forged not in log
