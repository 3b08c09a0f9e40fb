"""The WhatsApp channel as one service for the API: the webhook's entry point, linking
numbers, the responder that answers stored messages, and the reminder sender."""

from __future__ import annotations

import logging
import uuid

import asyncpg

from butler.agent.brain import Brain
from butler.channels.whatsapp import inbox, links, outbox, webhook
from butler.channels.whatsapp.graph import GraphClient, WhatsAppError
from butler.channels.whatsapp.links import Link, PendingCode
from butler.channels.whatsapp.reminders import ReminderSender, ReminderTemplate
from butler.channels.whatsapp.responder import Responder
from butler.channels.whatsapp.speech import Speaker, Transcriber
from butler.channels.whatsapp.transport import Transport
from butler.config import STTSettings, TTSSettings, WhatsAppSettings
from butler.db.pool import connection
from butler.errors import Conflict, RateLimited
from butler.notify.dispatcher import Dispatcher

log = logging.getLogger(__name__)

CODES_PER_NUMBER_PER_DAY = 5


class WhatsApp:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: WhatsAppSettings,
        transport: Transport,
        responder: Responder,
        transcriber: Transcriber,
        speaker: Speaker,
    ) -> None:
        assert settings.app_secret and settings.verify_token and settings.phone_number_id
        self._pool = pool
        self.settings = settings
        self._app_secret = settings.app_secret.get_secret_value()
        self._verify_token = settings.verify_token.get_secret_value()
        self._number_id = settings.phone_number_id
        self.transport = transport
        self.responder = responder
        self._transcriber = transcriber
        self._speaker = speaker

    def challenge(self, mode: str | None, token: str | None, challenge: str | None) -> str:
        return webhook.answer_challenge(mode, token, challenge, self._verify_token)

    async def receive(self, raw_body: bytes, signature: str | None) -> int:
        """Check, then store what a webhook carries; the number of new messages. Nothing
        is stored unless the signature is right."""
        webhook.check_signature(raw_body, signature, self._app_secret)
        payload = webhook.parse(raw_body, self._number_id)
        new = 0
        async with connection(self._pool) as conn:
            for message in payload.messages:
                linked = await links.person_at(conn, message.phone_number) is not None
                new += await inbox.store(conn, message, linked=linked)
            for status in payload.statuses:
                await outbox.apply_status(conn, status)
        if new:
            self.responder.wake()
        return new

    async def send_code(self, user_id: uuid.UUID, phone_number: str) -> PendingCode:
        number = links.whatsapp_id(phone_number)
        code = links.new_code()
        async with connection(self._pool) as conn:
            # Codes go to any number a person types: a number gets only so many a day.
            if await outbox.sent_lately(conn, number, "code") >= CODES_PER_NUMBER_PER_DAY:
                raise RateLimited(
                    "That number has been sent enough codes today; try again tomorrow.",
                    retry_after_seconds=3600,
                )
            await links.start_linking(conn, user_id, number, code)
        try:
            sent = await self._send_code(number, code)
        except WhatsAppError as exc:
            async with connection(self._pool) as conn:
                await links.forget_code(conn, user_id)
            if exc.outside_window:
                raise Conflict(
                    "WhatsApp only lets Butler write first to someone who wrote to it in the "
                    "last 24 hours: send any message to Butler's number, then ask for a code "
                    "again.",
                    code="whatsapp_window_closed",
                ) from exc
            raise
        async with connection(self._pool) as conn:
            await outbox.record_sent(conn, sent, number, "code", None)
            pending = await links.pending_code(conn, user_id)
        assert pending is not None
        return pending

    async def _send_code(self, number: str, code: str) -> str:
        template = self.settings.code_template
        if template:
            return await self.transport.send_template(
                number, template, self.settings.template_language, [code], code_button=True
            )
        return await self.transport.send_text(
            number,
            f"Your Butler code is {code}. Type it into the app to link this number. "
            "It lasts 10 minutes. If you did not ask for it, ignore this message.",
        )

    async def verify(self, user_id: uuid.UUID, code: str) -> Link:
        async with connection(self._pool) as conn:
            return await links.verify(conn, user_id, code)

    def start(self, dispatcher: Dispatcher) -> None:
        template = self.settings.reminder_template
        dispatcher.add_channel(
            "whatsapp",
            ReminderSender(
                self._pool,
                self.transport,
                ReminderTemplate(template, self.settings.template_language) if template else None,
            ),
        )
        self.responder.start()

    async def aclose(self) -> None:
        await self.responder.aclose()
        await self._transcriber.aclose()
        await self._speaker.aclose()
        await self.transport.aclose()


def open_whatsapp(
    pool: asyncpg.Pool,
    brain: Brain,
    settings: WhatsAppSettings,
    stt: STTSettings,
    tts: TTSSettings,
) -> WhatsApp | None:
    """The channel, or None (and its routes answer 404) while it is not configured."""
    if not settings.configured:
        return None
    assert settings.access_token and settings.phone_number_id
    transport = GraphClient(
        settings.api_base_url,
        settings.phone_number_id,
        settings.access_token.get_secret_value(),
        timeout=settings.timeout_seconds,
    )
    transcriber = Transcriber(stt)
    speaker = Speaker(tts)
    responder = Responder(
        pool,
        brain,
        transport,
        transcriber,
        speaker,
        lease_seconds=settings.lease_seconds,
        poll_seconds=settings.poll_seconds,
    )
    return WhatsApp(pool, settings, transport, responder, transcriber, speaker)
