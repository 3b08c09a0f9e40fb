"""Answering stored messages: each becomes one turn of the brain on channel
`whatsapp`, in the person's one history, and its reply goes back on WhatsApp.

Every API process runs the loop; the inbox's leases make one process answer each
message. A webhook that stores a message wakes the loop at once, so answering does not
wait for the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg

from butler.agent.brain import Brain, TurnRequest
from butler.agent.events import TurnFailed, TurnFinished
from butler.channels.whatsapp import inbox, links, outbox
from butler.channels.whatsapp.formatting import split_message, to_whatsapp
from butler.channels.whatsapp.graph import WhatsAppError, backoff
from butler.channels.whatsapp.inbox import Received
from butler.channels.whatsapp.links import Link
from butler.channels.whatsapp.speech import Speaker, Transcriber
from butler.channels.whatsapp.transport import Transport
from butler.db.poll_loop import poll_forever
from butler.db.pool import DATABASE_FAILURES, connection
from butler.errors import ButlerError
from butler.llm import base as llm
from butler.memory import history
from butler.users.models import User

log = logging.getLogger(__name__)

ACCESS_REPLY = (
    "Hello! This is a household's private butler, and this number is not linked to "
    "anyone in it. If you live there, open the Butler app, go to Settings → WhatsApp, "
    "and link this number; then write again."
)
UNSUPPORTED_REPLY = (
    "I can read text messages, voice notes and photos, but not this kind of message yet."
)
UNHEARD_REPLY = (
    "I couldn't make out any words in that voice note. Could you say it again, or type it?"
)
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
GAVE_UP_REPLY = "Sorry, I couldn't answer that message. Please try again in a little while."
MAX_IN_FLIGHT = 8  # messages one process answers at once
TYPING_REFRESH_SECONDS = 20.0  # WhatsApp drops the indicator after 25 s
SWEEP_EVERY = 600  # polls between clean-ups


@dataclass(frozen=True)
class Words:
    """What a received message says to the brain, or the reply it gets without one."""

    text: str = ""
    images: tuple[llm.ImagePart, ...] = ()
    direct_reply: str | None = None


class Responder:
    def __init__(
        self,
        pool: asyncpg.Pool,
        brain: Brain,
        transport: Transport,
        transcriber: Transcriber,
        speaker: Speaker,
        *,
        lease_seconds: float,
        poll_seconds: float,
    ) -> None:
        self._pool = pool
        self._brain = brain
        self._transport = transport
        self._transcriber = transcriber
        self._speaker = speaker
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="whatsapp-responder")

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        """Stop; a message being answered stays claimed until its lease runs out, then
        another process (or this one after a restart) answers it."""
        for task in [self._task, *self._in_flight]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._in_flight]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _run(self) -> None:
        await poll_forever(
            lambda sweep: self.tick(sweep=sweep),
            what="whatsapp",
            poll_seconds=self._poll,
            sweep_every=SWEEP_EVERY,
            wake=self._wake,
        )

    async def tick(self, *, sweep: bool = False) -> None:
        """Claim what may be answered now and start answering it; turns already under
        way go on meanwhile (a slow one never holds up another person's)."""
        self._in_flight = {task for task in self._in_flight if not task.done()}
        room = MAX_IN_FLIGHT - len(self._in_flight)
        async with connection(self._pool) as conn:
            if sweep:
                for number in await inbox.expire_out_of_attempts(conn):
                    await outbox.add_problem(
                        conn, number, "a message was never answered", "every attempt was cut short"
                    )
                await inbox.sweep(conn)
            # One open message per person is claimable at a time, so these come from
            # different people and may be answered side by side.
            claimed = await inbox.claim(conn, lease_seconds=self._lease, limit=room) if room else []
        for received in claimed:
            task = asyncio.create_task(self._handle(received), name="whatsapp-answer")
            task.add_done_callback(lambda _: self._wake.set())  # room for the next one
            self._in_flight.add(task)

    async def _handle(self, received: Received) -> None:
        heartbeat = asyncio.create_task(self._keep_lease(received.message_id))
        try:
            await self._answer(received)
        except WhatsAppError as exc:
            await self._setback(received, exc.message, retryable=exc.retryable)
        except DATABASE_FAILURES as exc:
            await self._setback(received, f"the database failed: {exc}", retryable=True)
        except Exception as exc:
            log.exception("whatsapp: answering a message failed")
            await self._setback(received, f"{type(exc).__name__}: {exc}", retryable=False)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _keep_lease(self, message_id: str) -> None:
        """Renew the claim while this process works on the message: a long turn is not
        taken over; a dead process's claim runs out within one lease."""
        while True:
            await asyncio.sleep(self._lease / 3)
            with contextlib.suppress(*DATABASE_FAILURES):
                async with connection(self._pool) as conn:
                    await inbox.extend_lease(conn, message_id, self._lease)

    async def _setback(self, received: Received, detail: str, *, retryable: bool) -> None:
        with contextlib.suppress(*DATABASE_FAILURES):
            async with connection(self._pool) as conn:
                if retryable and await inbox.retry_later(
                    conn, received, detail, delay=backoff(received.attempts + 1) * 5
                ):
                    log.info("whatsapp: a message will be answered later: %s", detail)
                    return
                await inbox.failed(conn, received.message_id, detail)
                await outbox.add_problem(
                    conn, received.phone_number, "a message could not be answered", detail
                )
                log.error("whatsapp: a message could not be answered: %s", detail)
        if received.kind != inbox.UNLINKED:
            await self._apologise(received)

    async def _apologise(self, received: Received) -> None:
        """Tell the person, rather than leave them waiting for a reply that will not come."""
        with contextlib.suppress(WhatsAppError, *DATABASE_FAILURES):
            sent = await self._transport.send_text(
                received.phone_number, GAVE_UP_REPLY, reply_to=received.message_id
            )
            async with connection(self._pool) as conn:
                await outbox.record_sent(conn, sent, received.phone_number, "apology", None)

    async def _answer(self, received: Received) -> None:
        async with connection(self._pool) as conn:
            person = await links.person_at(conn, received.phone_number)
        if received.status == "answered" and received.reply is not None:
            await self._send_reply(received, received.reply, person)
        elif person is None or received.kind == inbox.UNLINKED:
            await self._access_notice(received)
        else:
            user, link = person
            reply = await self._turn(received, user, link)
            async with connection(self._pool) as conn:
                await inbox.answered(conn, received.message_id, reply)
            await self._send_reply(received, reply, person)
        async with connection(self._pool) as conn:
            await inbox.done(conn, received.message_id)

    async def _access_notice(self, received: Received) -> None:
        async with connection(self._pool) as conn:
            if not await inbox.take_access_notice(conn, received.phone_number):
                return
        try:
            sent = await self._transport.send_text(received.phone_number, ACCESS_REPLY)
        except WhatsAppError:
            async with connection(self._pool) as conn:  # not said: the retry may say it
                await inbox.give_back_access_notice(conn, received.phone_number)
            raise
        async with connection(self._pool) as conn:
            await outbox.record_sent(conn, sent, received.phone_number, "access", None)

    async def _turn(self, received: Received, user: User, link: Link) -> dict[str, Any]:
        """Run the brain on the message (once: a turn already stored is reused)."""
        turn_id = f"whatsapp:{received.message_id}"
        voice = received.kind == "audio" and link.voice_replies
        async with connection(self._pool) as conn:
            stored = await history.reply_to_turn(conn, user.id, turn_id)
        if stored is not None:
            return {"text": stored, "voice": voice, "sent": 0}
        async with self._typing(received.message_id):
            words = await self._words(received)
            if words.direct_reply is not None:
                return {"text": words.direct_reply, "voice": False, "sent": 0}
            text = await self._with_quote(received, words.text)
            request = TurnRequest(
                user=user,
                channel="whatsapp",
                text=text,
                turn_id=turn_id,
                images=words.images,
                metadata={"whatsapp": {"kind": received.kind}},
            )
            reply = await self._run_brain(request)
        return {"text": reply, "voice": voice, "sent": 0}

    async def _run_brain(self, request: TurnRequest) -> str:
        events = self._brain.run(request)
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, TurnFinished):
                        return event.text or "…"
                    if isinstance(event, TurnFailed):
                        if event.retryable:
                            raise WhatsAppError(f"the turn failed: {event.message}", retryable=True)
                        return f"Sorry, I couldn't answer that: {event.message}"
        except llm.LLMNotConfigured as exc:  # raised as the turn starts
            return f"I can't answer yet: {exc.message}"
        raise WhatsAppError("the turn ended without a reply", retryable=True)

    async def _words(self, received: Received) -> Words:
        message = received.message
        if received.kind == "text":
            body = str((message.get("text") or {}).get("body") or "").strip()
            return Words(text=body) if body else Words(direct_reply=UNSUPPORTED_REPLY)
        if received.kind == "audio":
            media = await self._transport.download(str((message.get("audio") or {}).get("id")))
            try:
                heard = await self._transcriber.transcribe(media.data, media.mime_type)
            except ButlerError as exc:  # not audio we can decode
                log.info("whatsapp: a voice note could not be read: %s", exc.message)
                heard = ""
            return Words(text=heard) if heard.strip() else Words(direct_reply=UNHEARD_REPLY)
        if received.kind == "image":
            return await self._photo(message.get("image") or {})
        return Words(direct_reply=UNSUPPORTED_REPLY)

    async def _photo(self, image: dict[str, Any]) -> Words:
        caption = str(image.get("caption") or "").strip()
        provider = self._brain.provider
        if provider is None or not provider.sees_images:
            return Words(text=f"[A photo, which you cannot see] {caption}".strip())
        media = await self._transport.download(str(image.get("id")))
        if media.mime_type not in IMAGE_TYPES or len(media.data) > MAX_IMAGE_BYTES:
            return Words(text=f"[A photo in a form you cannot see] {caption}".strip())
        return Words(
            text=f"[Photo] {caption}".strip(),
            images=(llm.ImagePart(media.mime_type, media.data),),
        )

    async def _with_quote(self, received: Received, text: str) -> str:
        context = received.message.get("context") or {}
        quoted_id = context.get("id") if isinstance(context, dict) else None
        if not isinstance(quoted_id, str):
            return text
        async with connection(self._pool) as conn:
            quoted = await inbox.quoted_text(conn, received.phone_number, quoted_id)
        if not quoted:
            return text
        short = quoted if len(quoted) <= 500 else quoted[:500] + "…"
        return f'(Replying to: "{short}")\n{text}'

    @contextlib.asynccontextmanager
    async def _typing(self, message_id: str) -> AsyncIterator[None]:
        """Read receipt and typing indicator, renewed while the brain works; WhatsApp
        failing to show them never costs the reply."""

        async def keep_typing() -> None:
            while True:
                try:
                    await self._transport.mark_read(message_id, typing=True)
                except WhatsAppError as exc:
                    log.info("whatsapp: no typing indicator: %s", exc.message)
                await asyncio.sleep(TYPING_REFRESH_SECONDS)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send_reply(
        self, received: Received, reply: dict[str, Any], person: tuple[User, Link] | None
    ) -> None:
        """Send what is left of the reply; progress is recorded part by part, so a crash
        repeats at most the part that was being sent."""
        to = received.phone_number
        text = str(reply.get("text") or "")
        if reply.get("voice") and person is not None and reply.get("sent", 0) == 0:
            note = await self._voice_note(text, person[0].voice)
            if note is not None:
                sent = await self._transport.send_voice_note(to, note, reply_to=received.message_id)
                async with connection(self._pool) as conn:
                    await outbox.record_sent(conn, sent, to, "reply", text)
                return
        parts = split_message(to_whatsapp(text))
        for index in range(int(reply.get("sent", 0)), len(parts)):
            sent = await self._transport.send_text(
                to, parts[index], reply_to=received.message_id if index == 0 else None
            )
            reply = {**reply, "sent": index + 1}
            async with connection(self._pool) as conn:
                await outbox.record_sent(conn, sent, to, "reply", parts[index])
                await inbox.answered(conn, received.message_id, reply)

    async def _voice_note(self, text: str, voice: str) -> bytes | None:
        try:
            return await self._speaker.voice_note(text, voice)
        except Exception as exc:  # any TTS failure: the reply goes as text instead
            log.warning("whatsapp: could not speak the reply (%s); sending text", exc)
            return None
