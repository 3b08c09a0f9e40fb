"""Reminders and timers on WhatsApp: a delivery sender for the notify dispatcher.

Inside the 24-hour window since the person last wrote, the notice goes as a text.
Outside it WhatsApp allows only an approved template: the configured one, or none (the
push delivery of the same firing carries it, and this delivery says why it did not).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from butler.channels.whatsapp import inbox, links, outbox
from butler.channels.whatsapp.graph import WhatsAppError
from butler.channels.whatsapp.transport import Transport
from butler.db.pool import connection
from butler.notify.delivery import Delivery
from butler.notify.dispatcher import Attempt, retry_delay
from butler.notify.wording import notice


@dataclass(frozen=True)
class ReminderTemplate:
    name: str
    language: str


class ReminderSender:
    def __init__(
        self, pool: asyncpg.Pool, transport: Transport, template: ReminderTemplate | None
    ) -> None:
        self._pool = pool
        self._transport = transport
        self._template = template

    async def __call__(self, job: Delivery) -> Attempt:
        async with connection(self._pool) as conn:
            link = await links.link_of(conn, job.firing.user_id)
            open_window = link is not None and await inbox.within_window(conn, link.phone_number)
        if link is None:
            return Attempt(False, "the person unlinked their WhatsApp number")
        said = notice(job.firing)
        to = link.phone_number
        try:
            if open_window:
                sent = await self._transport.send_text(to, f"⏰ *{said.title}*\n{said.body}")
            elif self._template is not None:
                sent = await self._transport.send_template(
                    to, self._template.name, self._template.language, [said.body]
                )
            else:
                return Attempt(
                    False,
                    "outside WhatsApp's 24-hour window and no reminder template is set "
                    "(BUTLER_WHATSAPP__REMINDER_TEMPLATE); sent as a push only",
                )
        except WhatsAppError as exc:
            async with connection(self._pool) as conn:
                if not exc.retryable:
                    await outbox.add_problem(conn, to, "a reminder was not sent", exc.message)
            return Attempt(False, exc.message, retry_delay(job.attempts) if exc.retryable else None)
        async with connection(self._pool) as conn:
            await outbox.record_sent(conn, sent, to, "reminder", said.body)
        return Attempt(True, "sent on WhatsApp")
