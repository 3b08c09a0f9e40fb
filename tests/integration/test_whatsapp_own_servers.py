"""WhatsApp with servers of their own: a Butler killed (SIGKILL) between receiving a
message and replying answers it after the restart, once; reminders outside WhatsApp's
24-hour window go by the configured template or are left to push.

Its own module: no other server of the suite may be answering WhatsApp messages or
sending reminders from the database meanwhile (test_whatsapp's server is stopped by
the time this module runs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.fakes import whatsapp_cloud as meta
from tests.fakes.whatsapp_cloud import FakeWhatsAppCloud
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import wait_for
from tests.integration.whatsapp_helpers import link, new_number
from tests.support import (
    DEAD_LIVEKIT_URL,
    JWT_SECRET,
    claude_at,
    free_port,
    live_server,
    make_settings,
    new_user_id,
    register,
    run,
)

pytestmark = pytest.mark.slow

LEASE_SECONDS = 3


@contextmanager
def butler_process(
    data_dir: Path, dsn: str, wire: AnthropicWire, cloud: FakeWhatsAppCloud
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`butler serve` as its own process, talking to the wire stub and the fake Meta."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUTLER_", "LIVEKIT_"))}
    env.update(
        {
            "BUTLER_DATA_DIR": str(data_dir),
            "BUTLER_DATABASE_URL": dsn,
            "BUTLER_AUTH__JWT_SECRET": JWT_SECRET,
            "BUTLER_LIVEKIT__URL": DEAD_LIVEKIT_URL,
            "BUTLER_MEMORY__LEARNING": "false",
            **{f"BUTLER_LLM__{k.upper()}": str(v) for k, v in claude_at(wire.base_url).items()},
            **{
                f"BUTLER_WHATSAPP__{k.upper()}": str(v)
                for k, v in cloud.settings(lease_seconds=LEASE_SECONDS).items()
            },
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "butler", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _ready(url) or process.poll() is not None, timeout=90)
        assert process.poll() is None, "butler serve exited"
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def linked_person(dsn: str, number: str) -> str:
    async def make(conn: asyncpg.Connection) -> str:
        user_id = await new_user_id(conn)
        await conn.execute(
            "INSERT INTO butler.whatsapp_links (user_id, phone_number) VALUES ($1, $2)",
            user_id,
            number,
        )
        return str(user_id)

    return run(make, dsn)


def turns(dsn: str, user_id: str) -> list[tuple[str, str]]:
    async def fetch(conn: asyncpg.Connection) -> list[tuple[str, str]]:
        rows = await conn.fetch(
            """SELECT role, content FROM butler.conversation_history
               WHERE user_id = $1::uuid ORDER BY id""",
            user_id,
        )
        return [(r["role"], r["content"]) for r in rows]

    return run(fetch, dsn)


def test_a_message_received_before_a_crash_is_answered_after_the_restart(
    dsn: str, wire: AnthropicWire, tmp_path: Path
) -> None:
    number = "447700900777"
    user_id = linked_person(dsn, number)
    with FakeWhatsAppCloud().running() as cloud:
        message = meta.text_message(number, "Did I lock the back door?")
        # The first process's turn never finishes: it is killed in the middle of it.
        wire.play(Reply.hang(60))
        with butler_process(tmp_path / "first", dsn, wire, cloud) as (process, url):
            stored = meta.deliver(url, meta.payload(message))
            assert stored.status_code == 200 and stored.json() == {"stored": 1}
            assert wait_for(lambda: len(wire.requests) == 1, timeout=20)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        assert cloud.sent_to(number) == []

        wire.play(Reply.say("Yes, the back door is locked."))
        restarted = make_settings(
            tmp_path / "second",
            llm=claude_at(wire.base_url),
            whatsapp=cloud.settings(lease_seconds=LEASE_SECONDS),
        )
        with live_server(restarted, dsn):
            (reply,) = cloud.wait_for_sent(number, timeout=30)
            time.sleep(1.0)
            assert len(cloud.sent_to(number)) == 1
        assert reply.text == "Yes, the back door is locked."
        assert reply.body["context"] == {"message_id": message["id"]}
    assert turns(dsn, user_id) == [
        ("user", "Did I lock the back door?"),
        ("assistant", "Yes, the back door is locked."),
    ]


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def cloud() -> Iterator[FakeWhatsAppCloud]:
    with FakeWhatsAppCloud().running() as fake:
        yield fake


def test_outside_the_window_a_reminder_uses_the_template_or_is_left_to_push(
    dsn: str, anthropic_wire: AnthropicWire, cloud: FakeWhatsAppCloud, tmp_path: Path
) -> None:
    def close_window(number: str) -> None:
        async def update(conn: asyncpg.Connection) -> None:
            await conn.execute(
                """INSERT INTO butler.whatsapp_contacts (phone_number, last_inbound_at)
                   VALUES ($1, now() - interval '2 days')
                   ON CONFLICT (phone_number)
                   DO UPDATE SET last_inbound_at = EXCLUDED.last_inbound_at""",
                number,
            )

        run(update, dsn)

    def deliveries(reminder_id: str) -> dict[str, tuple[str, str]]:
        async def fetch(conn: asyncpg.Connection) -> dict[str, tuple[str, str]]:
            rows = await conn.fetch(
                """SELECT d.channel, d.status, d.detail FROM butler.deliveries d
                   JOIN butler.reminder_firings f ON f.id = d.firing_id
                   WHERE f.reminder_id = $1::uuid""",
                reminder_id,
            )
            return {r["channel"]: (r["status"], r["detail"] or "") for r in rows}

        return run(fetch, dsn)

    templated = make_settings(
        tmp_path / "templated",
        llm=claude_at(anthropic_wire.base_url),
        whatsapp=cloud.settings(reminder_template="butler_reminder", template_language="en_GB"),
    )
    with live_server(templated, dsn) as url:
        person = register(url, dsn)
        number = new_number()
        link(person, cloud, number)
        close_window(number)
        made = person.client.post(
            "/api/reminders", json={"text": "Bins out", "due_at": soon(1.0)}, headers=person.auth
        ).json()
        (sent,) = cloud.wait_for_sent(number, timeout=15)
        template = sent.body["template"]
        assert (sent.body["type"], template["name"]) == ("template", "butler_reminder")
        assert template["language"] == {"code": "en_GB"}
        assert template["components"][0]["parameters"] == [{"type": "text", "text": "Bins out"}]
        assert wait_for(lambda: deliveries(made["id"]).get("whatsapp", ("",))[0] == "sent")

    plain = make_settings(
        tmp_path / "plain", llm=claude_at(anthropic_wire.base_url), whatsapp=cloud.settings()
    )
    cloud.reset()
    with live_server(plain, dsn) as url:
        person = register(url, dsn)
        number = new_number()
        link(person, cloud, number)
        close_window(number)
        made = person.client.post(
            "/api/reminders",
            json={"text": "Feed the cat", "due_at": soon(1.0)},
            headers=person.auth,
        ).json()
        assert wait_for(lambda: deliveries(made["id"]).get("whatsapp", ("",))[0] == "failed", 15)
        _, detail = deliveries(made["id"])["whatsapp"]
        assert "24-hour window" in detail and "push" in detail
        assert "push" in deliveries(made["id"])  # the push delivery carries it
        assert cloud.sent_to(number) == []


def test_without_a_model_a_message_is_answered_with_why(
    dsn: str, cloud: FakeWhatsAppCloud, tmp_path: Path
) -> None:
    number = new_number()
    linked_person(dsn, number)
    no_model = make_settings(tmp_path, llm={"provider": "openai"}, whatsapp=cloud.settings())
    with live_server(no_model, dsn) as url:
        meta.deliver(url, meta.payload(meta.text_message(number, "Hello?")))
        (reply,) = cloud.wait_for_sent(number, timeout=15)
    assert reply.text.startswith("I can't answer yet: No language model")
