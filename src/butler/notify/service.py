"""Reminders and their notifications as one service for the API: the store, the push
subscriptions and key, and the dispatcher that fires and delivers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from butler.notify.dispatcher import Dispatcher
from butler.notify.push import PushSender, PushSubscriptions, load_vapid
from butler.notify.push_endpoints import check_endpoint
from butler.reminders.store import ReminderStore


@dataclass
class Notifications:
    store: ReminderStore
    subscriptions: PushSubscriptions
    public_key: str
    production: bool
    allow_private: bool
    dispatcher: Dispatcher
    client: httpx.AsyncClient

    async def check_endpoint(self, url: str) -> None:
        await check_endpoint(url, production=self.production, allow_private=self.allow_private)

    def start(self) -> None:
        self.dispatcher.start()

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
        await self.client.aclose()


def open_notifications(
    pool: asyncpg.Pool,
    data_dir: Path,
    *,
    vapid_private_key: str | None,
    subject: str,
    ttl_seconds: int,
    poll_seconds: float,
    production: bool,
    allow_private: bool,
) -> Notifications:
    vapid = load_vapid(data_dir, vapid_private_key)
    # Never follow a redirect: the endpoint was checked, where it points to was not.
    client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
    sender = PushSender(vapid, subject, ttl_seconds, client)
    dispatcher = Dispatcher(
        pool,
        sender,
        poll_seconds=poll_seconds,
        production=production,
        allow_private=allow_private,
    )
    return Notifications(
        store=ReminderStore(),
        subscriptions=PushSubscriptions(),
        public_key=sender.public_key,
        production=production,
        allow_private=allow_private,
        dispatcher=dispatcher,
        client=client,
    )
