"""The loop each API process runs: fire what is due, then send its deliveries (push,
and any other channel that registered a sender: WhatsApp).

Every process runs it; the row locks in firing and delivery make sure each reminder
fires once and each delivery is sent by one process at a time. A failing database or
push service is logged and tried again at the next poll: it never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from butler.db.poll_loop import poll_forever
from butler.db.pool import connection
from butler.errors import InvalidInput
from butler.metrics import REMINDER_LATENESS_SECONDS, REMINDERS_FIRED
from butler.notify import delivery
from butler.notify.delivery import Delivery
from butler.notify.firing import fire_due
from butler.notify.push import PushSender, PushSubscriptions
from butler.notify.push_endpoints import check_endpoint
from butler.notify.wording import notice

log = logging.getLogger(__name__)

EXPIRE_EVERY = 30  # polls between sweeps of deliveries nobody will send any more


@dataclass(frozen=True)
class Attempt:
    """How sending one delivery went: `retry_in` seconds to try again after a failure
    that may pass, None for one that cannot."""

    sent: bool
    detail: str
    retry_in: float | None = None


DeliverySender = Callable[[Delivery], Awaitable[Attempt]]


def retry_delay(attempts: int) -> float:
    """5 s, 15 s, 45 s, 135 s: a push service that is down for a moment is tried again
    soon, one that is down for longer is not hammered."""
    return 5.0 * float(3 ** max(0, attempts - 1))


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: PushSender,
        *,
        poll_seconds: float,
        production: bool,
        allow_private: bool,
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._subscriptions = PushSubscriptions()
        self._poll = poll_seconds
        self._production = production
        self._allow_private = allow_private
        self._task: asyncio.Task[None] | None = None
        self._senders: dict[delivery.Channel, DeliverySender] = {"push": self._push}

    def add_channel(self, channel: delivery.Channel, sender: DeliverySender) -> None:
        self._senders[channel] = sender

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reminder-dispatcher")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        await poll_forever(
            lambda sweep: self.tick(sweep=sweep),
            what="reminders",
            poll_seconds=self._poll,
            sweep_every=EXPIRE_EVERY,
        )

    async def tick(self, *, sweep: bool = False) -> None:
        async with connection(self._pool) as conn:
            fired = await fire_due(conn)
            for firing in fired:
                late = firing.late_seconds
                log.info("reminder fired%s", f" {late:.0f} s late" if late >= 1 else "")
                REMINDERS_FIRED.labels(firing.kind).inc()
                REMINDER_LATENESS_SECONDS.observe(late)
            if sweep:
                await delivery.expire_stale(conn)
            jobs = [
                (job, sender)
                for channel, sender in self._senders.items()
                for job in await delivery.claim(conn, channel)
            ]
        for job, sender in jobs:
            await self._send(job, sender)

    async def _send(self, job: Delivery, sender: DeliverySender) -> None:
        try:
            attempt = await sender(job)
        except Exception as exc:  # a sender's bug must not stop the others' deliveries
            log.exception("reminders: a %s delivery failed", job.channel)
            attempt = Attempt(False, f"{type(exc).__name__}: {exc}", retry_delay(job.attempts))
        async with connection(self._pool) as conn:
            if attempt.sent:
                await delivery.sent(conn, job, attempt.detail[:500])
            else:
                await delivery.failed(conn, job, attempt.detail[:500], retry_in=attempt.retry_in)
                log.warning("reminders: a %s delivery failed: %s", job.channel, attempt.detail)

    async def _push(self, job: Delivery) -> Attempt:
        said = notice(job.firing)
        payload: dict[str, Any] = {
            "title": said.title,
            "body": said.body,
            "tag": said.tag,
            "kind": job.firing.kind,
            "url": "/#/reminders",
        }
        async with connection(self._pool) as conn:
            subscriptions = await self._subscriptions.of_user(conn, job.firing.user_id)
        if not subscriptions:
            return Attempt(False, "no browser subscribed")
        sent = retry = 0
        details = []
        for subscription in subscriptions:
            if subscription.server_key != self._sender.public_key:
                # Subscribed through a server with another VAPID key: the push service
                # would refuse this one's signature. Left for that server to send.
                retry += 1
                details.append("subscribed under another server's VAPID key")
                continue
            try:
                await check_endpoint(
                    subscription.endpoint,
                    production=self._production,
                    allow_private=self._allow_private,
                )
            except InvalidInput as exc:
                details.append(str(exc))
                continue
            result = await self._sender.send(subscription, payload, topic=job.firing.id.hex)
            details.append(result.detail)
            async with connection(self._pool) as conn:
                if result.outcome == "sent":
                    sent += 1
                    await self._subscriptions.sent(conn, subscription)
                elif result.outcome == "gone":
                    await self._subscriptions.forget(conn, subscription)
            retry += result.outcome == "retry"
        detail = "; ".join(details)
        return Attempt(
            bool(sent), detail, retry_delay(job.attempts) if retry and not sent else None
        )
