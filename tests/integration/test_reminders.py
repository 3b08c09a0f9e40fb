"""Reminders and timers through the real API, fired from PostgreSQL and delivered as Web
Push to a local push service, where a test browser decrypts them with its own keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from butler.db.pool import init_connection
from butler.notify import delivery
from butler.notify.firing import fire_due
from butler.voice.butler_llm import ButlerAPI
from butler.voice.notices import speak_notices
from tests.fakes.push_service import Browser, FakePushService, vapid_claims
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import voice_stream, voice_worker, wait_for
from tests.livekit_server import LiveKitServer
from tests.support import Account, claude_at, live_server, make_settings, register, run


@pytest.fixture(scope="module")
def push_service() -> Iterator[FakePushService]:
    with FakePushService().running() as service:
        yield service


@pytest.fixture(scope="module")
def server(
    dsn: str,
    anthropic_wire: AnthropicWire,
    livekit: LiveKitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("reminders"),
        llm=claude_at(anthropic_wire.base_url),
        livekit=livekit.settings,
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture
def person(server: str, dsn: str) -> Account:
    return register(server, dsn)


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def subscribe(account: Account, browser: Browser) -> httpx.Response:
    return account.client.post(
        "/api/push/subscriptions", json=browser.subscription(), headers=account.auth
    )


def add(account: Account, **body: Any) -> httpx.Response:
    return account.client.post("/api/reminders", json=body, headers=account.auth)


def reminders(account: Account) -> list[dict[str, Any]]:
    response = account.client.get("/api/reminders", headers=account.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["reminders"])


def firings(dsn: str, reminder_id: str) -> int:
    async def count(conn: asyncpg.Connection) -> int:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM butler.reminder_firings WHERE reminder_id = $1::uuid",
            reminder_id,
        )
        return found

    return run(count, dsn)


def test_a_reminder_arrives_once_as_a_push_the_browser_can_read(
    person: Account, push_service: FakePushService, dsn: str
) -> None:
    browser = push_service.browser()
    assert subscribe(person, browser).status_code == 201
    assert subscribe(person, browser).status_code == 200  # the same browser again
    key = person.client.get("/api/push/public-key", headers=person.auth).json()["public_key"]
    made = add(person, text="Call mum", due_at=soon(1.5))
    assert made.status_code == 201, made.text
    assert [r["text"] for r in reminders(person)] == ["Call mum"]

    assert wait_for(lambda: len(push_service.messages_for(browser)) >= 1, timeout=10)
    (message,) = push_service.messages_for(browser)
    payload = browser.read(message)
    assert payload["title"] == "Reminder" and payload["body"] == "Call mum"
    assert payload["tag"].startswith("butler-")
    assert int(message.headers["ttl"]) >= 3600  # kept for a phone that is asleep
    assert message.headers["urgency"] == "high"
    assert len(message.headers["topic"]) == 32  # a repeat replaces it at the push service
    claims = vapid_claims(message, key)
    assert claims["aud"] == push_service.url and claims["sub"].startswith("mailto:")
    assert claims["exp"] > time.time()

    time.sleep(1.0)  # a second look by the dispatcher finds nothing more to send
    assert len(push_service.messages_for(browser)) == 1
    assert firings(dsn, made.json()["id"]) == 1
    assert reminders(person) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text": "x", "due_at": "2020-01-01T10:00:00+00:00"}, "in the past"),
        ({"text": "x", "due_at": "2030-01-01T10:00:00"}, "timezone"),
        ({"text": "x", "due_at": "2099-01-01T10:00:00+00:00"}, "five years"),
        ({"text": "   ", "due_at": "2030-01-01T10:00:00+00:00"}, "text"),
        ({"text": "a\u0007b", "due_at": "2030-01-01T10:00:00+00:00"}, "control"),
        ({"text": "x", "due_at": "soon"}, "due_at"),
        (
            {"text": "x", "due_at": "2030-01-01T10:00:00+00:00", "recurrence": "FREQ=MINUTELY"},
            "15 minutes",
        ),
        (
            {"text": "x", "due_at": "2030-01-01T10:00:00+00:00", "recurrence": "EVERY DAY"},
            "RRULE",
        ),
        ({"text": "x", "due_at": "2030-01-01T10:00:00+00:00", "user_id": "x"}, "user_id"),
    ],
)
def test_bad_reminders_are_refused_with_the_reason(
    person: Account, body: dict[str, Any], reason: str
) -> None:
    response = add(person, **body)
    assert response.status_code == 422, response.text
    assert reason in response.text
    assert reminders(person) == []


def test_a_cancelled_reminder_never_fires(
    person: Account, server: str, dsn: str, push_service: FakePushService
) -> None:
    browser = push_service.browser()
    subscribe(person, browser)
    made = add(person, text="Water the plants", due_at=soon(1.5)).json()
    other = register(server, dsn)
    path = f"/api/reminders/{made['id']}"
    assert other.client.delete(path, headers=other.auth).status_code == 404  # not theirs
    assert person.client.delete(path, headers=person.auth).status_code == 204
    assert person.client.delete(path, headers=person.auth).status_code == 404
    time.sleep(2.5)
    assert push_service.messages_for(browser) == []
    assert firings(dsn, made["id"]) == 0


def test_a_repeating_reminder_moves_on_to_its_next_time(person: Account, dsn: str) -> None:
    first = datetime.now(UTC) + timedelta(seconds=1)
    made = add(person, text="Stretch", due_at=first.isoformat(), recurrence="FREQ=DAILY").json()
    assert wait_for(lambda: firings(dsn, made["id"]) == 1, timeout=10)
    (waiting,) = reminders(person)
    moved = datetime.fromisoformat(waiting["due_at"]) - first
    assert abs(moved - timedelta(days=1)) < timedelta(seconds=1), waiting


def test_after_downtime_a_reminder_fires_late_once_and_says_how_late(
    person: Account, dsn: str, push_service: FakePushService
) -> None:
    browser = push_service.browser()
    subscribe(person, browser)

    async def missed(conn: asyncpg.Connection) -> str:
        # As if Butler was off: the reminder's time passed 10 minutes ago (and its daily
        # repeat's twice more, days ago, for the second one).
        ids = []
        for text, ago, rule in (
            ("Take the bins out", 600, None),
            ("Pills", 2 * 86400 + 600, "FREQ=DAILY"),
        ):
            due = datetime.now(UTC) - timedelta(seconds=ago)
            ids.append(
                str(
                    await conn.fetchval(
                        """INSERT INTO butler.reminders
                             (id, user_id, kind, text, due_at, starts_at, recurrence, timezone)
                           VALUES (gen_random_uuid(), $1, 'reminder', $2, $3, $3, $4, 'UTC')
                           RETURNING id""",
                        person.id,
                        text,
                        due,
                        rule,
                    )
                )
            )
        return ids[1]

    pills = run(missed, dsn)
    assert wait_for(lambda: len(push_service.messages_for(browser)) >= 2, timeout=10)
    time.sleep(0.6)
    bodies = sorted(browser.read(m)["body"] for m in push_service.messages_for(browser))
    assert bodies == ["Pills (2 days late)", "Take the bins out (10 minutes late)"], bodies
    assert firings(dsn, pills) == 1
    (waiting,) = [r for r in reminders(person) if r["id"] == pills]
    assert datetime.fromisoformat(waiting["due_at"]) > datetime.now(UTC)


def test_reminders_fire_once_with_two_api_processes(
    person: Account, server: str, dsn: str, push_service: FakePushService, tmp_path: Path
) -> None:
    """A second API process on the same database, both looking every 50 ms."""
    browser = push_service.browser()
    subscribe(person, browser)
    quick = make_settings(tmp_path, reminders={"poll_seconds": 0.05})
    with live_server(quick, dsn):
        due = soon(1.0)
        made = [add(person, text=f"Reminder {n}", due_at=due).json()["id"] for n in range(20)]
        assert wait_for(lambda: len(push_service.messages_for(browser)) >= 20, timeout=15)
        time.sleep(1.0)
    tags = [browser.read(m)["tag"] for m in push_service.messages_for(browser)]
    assert len(tags) == 20 and len(set(tags)) == 20
    assert [firings(dsn, id) for id in made] == [1] * 20


def test_concurrent_firing_makes_one_firing_per_reminder(person: Account, dsn: str) -> None:
    """Eight connections fire at once, as eight processes would."""

    async def scenario() -> tuple[int, int]:
        conns = [await asyncpg.connect(dsn) for _ in range(8)]
        for conn in conns:
            await init_connection(conn)
        try:
            await conns[0].execute(
                """INSERT INTO butler.reminders
                     (id, user_id, kind, text, due_at, starts_at, timezone)
                   SELECT gen_random_uuid(), $1, 'reminder', 'n' || n, now(), now(), 'UTC'
                   FROM generate_series(1, 120) AS n""",
                person.id,
            )
            results = await asyncio.gather(*(fire_due(c, batch=40) for c in conns))
            fired = [f.reminder_id for batch in results for f in batch]
            return len(fired), len(set(fired))
        finally:
            for conn in conns:
                await conn.close()

    fired, distinct = asyncio.run(scenario())
    assert fired == distinct  # none fired twice


def test_a_crash_before_the_firing_is_committed_fires_it_later_once(
    person: Account, dsn: str
) -> None:
    """A process that fired a reminder and died before committing leaves it waiting, with
    no firing or delivery behind; the running processes then fire it, once."""

    async def crash(conn: asyncpg.Connection) -> tuple[str, int, int, str]:
        reminder = await conn.fetchval(
            """INSERT INTO butler.reminders
                 (id, user_id, kind, text, due_at, starts_at, timezone)
               VALUES (gen_random_uuid(), $1, 'reminder', 'crash', now() + interval '1 hour',
                       now() + interval '1 hour', 'UTC') RETURNING id""",
            person.id,
        )
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "UPDATE butler.reminders SET due_at = now() - interval '1 second' WHERE id = $1",
            reminder,
        )
        crashed = [f for f in await fire_due(conn) if f.reminder_id == reminder]
        await tx.rollback()  # the process died before committing
        left = await conn.fetchval(
            "SELECT count(*) FROM butler.reminder_firings WHERE reminder_id = $1", reminder
        )
        status = await conn.fetchval("SELECT status FROM butler.reminders WHERE id = $1", reminder)
        await conn.execute(  # its time comes again, for the processes still running
            "UPDATE butler.reminders SET due_at = now() WHERE id = $1", reminder
        )
        return str(reminder), len(crashed), left, status

    reminder, crashed, left, status = run(crash, dsn)
    assert (crashed, left, status) == (1, 0, "pending")
    assert wait_for(lambda: firings(dsn, reminder) == 1, timeout=10)
    time.sleep(0.6)
    assert firings(dsn, reminder) == 1


def test_a_delivery_whose_process_died_is_taken_again_after_its_lease(
    person: Account, dsn: str
) -> None:
    async def scenario(conn: asyncpg.Connection) -> tuple[int, int, int]:
        reminder = await conn.fetchval(
            """INSERT INTO butler.reminders
                 (id, user_id, kind, text, due_at, starts_at, timezone)
               VALUES (gen_random_uuid(), $1, 'reminder', 'lease', now() + interval '1 hour',
                       now() + interval '1 hour', 'UTC') RETURNING id""",
            person.id,
        )
        firing = await conn.fetchval(
            """INSERT INTO butler.reminder_firings
                 (id, reminder_id, user_id, kind, text, due_at, fired_at)
               VALUES (gen_random_uuid(), $1, $2, 'reminder', 'lease', now(), now())
               RETURNING id""",
            reminder,
            person.id,
        )
        await conn.execute(
            "INSERT INTO butler.deliveries (firing_id, channel) VALUES ($1, 'whatsapp')", firing
        )
        first = await delivery.claim(conn, "whatsapp", user_id=person.id, lease_seconds=0.3)
        during = await delivery.claim(conn, "whatsapp", user_id=person.id)
        await asyncio.sleep(0.5)  # the first taker died: its lease runs out
        again = await delivery.claim(conn, "whatsapp", user_id=person.id)
        return len(first), len(during), again[0].attempts if again else 0

    first, during, attempts = run(scenario, dsn)
    assert (first, during, attempts) == (1, 0, 2)


def test_push_subscriptions_are_checked_and_can_be_removed(
    person: Account, push_service: FakePushService, dsn: str, tmp_path: Path
) -> None:
    browser = push_service.browser()
    bad_keys = {**browser.subscription(), "keys": {"p256dh": "AAAA" * 10, "auth": "AAAA" * 4}}
    answer = person.client.post("/api/push/subscriptions", json=bad_keys, headers=person.auth)
    assert answer.status_code == 422 and "p256dh" in answer.text
    nowhere = {**browser.subscription(), "endpoint": "ftp://push.example/1"}
    answer = person.client.post("/api/push/subscriptions", json=nowhere, headers=person.auth)
    assert answer.status_code == 422
    assert subscribe(person, browser).status_code == 201
    gone = {"endpoint": browser.endpoint + "x"}
    assert (
        person.client.request(
            "DELETE", "/api/push/subscriptions", json=gone, headers=person.auth
        ).status_code
        == 404
    )
    assert (
        person.client.request(
            "DELETE",
            "/api/push/subscriptions",
            json={"endpoint": browser.endpoint},
            headers=person.auth,
        ).status_code
        == 204
    )

    # A server that accepts only public push services (the default) refuses this one.
    strict = make_settings(tmp_path, reminders={"allow_private_push_endpoints": False})
    with live_server(strict, dsn) as url:
        client = httpx.Client(base_url=url, timeout=10)
        for endpoint in (
            browser.endpoint,
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:127.0.0.1]/x",
            "http://10.0.0.1/push",
        ):
            body = {**browser.subscription(), "endpoint": endpoint}
            answer = client.post("/api/push/subscriptions", json=body, headers=person.auth)
            assert answer.status_code == 422 and "private or local" in answer.text, endpoint


def test_a_subscription_the_push_service_calls_gone_is_deleted(
    person: Account, push_service: FakePushService, dsn: str
) -> None:
    browser = push_service.browser()
    subscribe(person, browser)
    push_service.answers[browser.endpoint.removeprefix(push_service.url)] = 410
    add(person, text="Anyone there?", due_at=soon(1.0))

    async def left(conn: asyncpg.Connection) -> int:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM butler.push_subscriptions WHERE endpoint = $1", browser.endpoint
        )
        return found

    assert wait_for(lambda: run(left, dsn) == 0, timeout=10)
    assert len(push_service.messages_for(browser)) == 1


def test_a_reminder_and_a_timer_set_by_chat(person: Account, wire: AnthropicWire, dsn: str) -> None:
    due = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0).isoformat()
    wire.play(
        Reply.use_tools(("set_reminder", {"text": "Call mum", "due_at": due})),
        Reply.say("I'll remind you."),
        Reply.use_tools(("set_timer", {"duration_seconds": 720, "name": "pasta"})),
        Reply.say("Pasta timer started."),
        Reply.use_tools(("timer_status", {})),
        Reply.say("About twelve minutes left."),
        Reply.use_tools(("cancel_timer", {"name": "pasta timer"})),
        Reply.say("Cancelled."),
    )
    # (Worded so that the timer fast path leaves them to the model.)
    for text in ("Remind me to call mum at six", "Time my pasta, twelve minutes please"):
        answer = person.client.post("/api/chat", json={"message": text}, headers=person.auth)
        assert answer.status_code == 200, answer.text
    waiting = reminders(person)
    assert [(r["kind"], r["text"]) for r in waiting] == [
        ("timer", "pasta"),
        ("reminder", "Call mum"),
    ]
    assert waiting[0]["duration_seconds"] == 720 and 700 < waiting[0]["seconds_left"] <= 720
    assert datetime.fromisoformat(waiting[1]["due_at"]) == datetime.fromisoformat(due)
    person.client.post("/api/chat", json={"message": "Is my pasta done?"}, headers=person.auth)
    status = wire.requests[-1]["messages"][-1]["content"][0]["content"]
    assert "the pasta timer: 11 minutes" in status or "the pasta timer: 12 minutes" in status
    person.client.post("/api/chat", json={"message": "Forget the pasta"}, headers=person.auth)
    assert [r["kind"] for r in reminders(person)] == ["reminder"]


def test_a_timer_set_by_chat_rings_as_a_push(
    person: Account, wire: AnthropicWire, push_service: FakePushService
) -> None:
    browser = push_service.browser()
    subscribe(person, browser)
    wire.play(
        Reply.use_tools(("set_timer", {"duration_seconds": 1, "name": "egg"})),
        Reply.say("Egg timer started."),
    )
    answer = person.client.post(
        "/api/chat", json={"message": "Set an egg timer for a second"}, headers=person.auth
    )
    assert answer.status_code == 200, answer.text
    assert wait_for(lambda: len(push_service.messages_for(browser)) == 1, timeout=10)
    payload = browser.read(push_service.messages_for(browser)[0])
    assert (payload["title"], payload["body"]) == ("Timer done", "Your egg timer is done.")


def test_a_reminder_is_spoken_in_the_open_voice_session(
    person: Account, dsn: str, push_service: FakePushService
) -> None:
    worker, _room = voice_worker(person)
    add(person, text="Take the cake out", due_at=soon(1.0))
    started = time.monotonic()
    answer = worker.get("/api/voice/notices", params={"wait": 10})
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < 8
    (notice,) = answer.json()["notices"]
    assert notice["spoken"] == "A reminder: Take the cake out."
    again = worker.get("/api/voice/notices", params={"wait": 0.5}).json()
    assert again["notices"] == []  # said once, by one session


class SaidAloud:
    """What the voice worker's session was asked to say."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.spoke = asyncio.Event()

    def say(self, text: str) -> None:
        self.said.append(text)
        self.spoke.set()


def test_the_voice_worker_says_a_reminder_then_stops_with_its_session(
    person: Account, server: str
) -> None:
    worker, room = voice_worker(person)
    credential = worker.headers["Authorization"].removeprefix("Bearer ")

    async def scenario() -> tuple[list[str], bool]:
        api = ButlerAPI(base_url=server, credential=credential, session_id=room)
        session = SaidAloud()
        speaking = asyncio.create_task(speak_notices(session, api))  # type: ignore[arg-type]
        try:
            add(person, text="Feed the cat", due_at=soon(1.0))
            await asyncio.wait_for(session.spoke.wait(), 10)
            await api.end_session()  # the person left: the credential stops working
            await asyncio.wait_for(speaking, 5)  # its waiting request ends too
            return session.said, speaking.done()
        finally:
            speaking.cancel()
            await api.aclose()

    said, ended = asyncio.run(scenario())
    assert said == ["A reminder: Feed the cat."]
    assert ended


def chat(account: Account, text: str) -> str:
    answer = account.client.post("/api/chat", json={"message": text}, headers=account.auth)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"])


def test_timers_by_chat_need_no_model(person: Account, wire: AnthropicWire) -> None:
    assert chat(person, "Set a pasta timer for 12 minutes.") == "Pasta timer set for 12 minutes."
    assert chat(person, "set a timer for 30 seconds") == "Timer set for 30 seconds."
    left = chat(person, "How long is left on the pasta timer?")
    assert left.startswith("Pasta timer: 11 minutes") or left == "Pasta timer: 12 minutes left."
    assert chat(person, "Cancel the timer").startswith("Several timers are running")
    assert chat(person, "Cancel the pasta timer.") == "Pasta timer cancelled."
    assert [(r["kind"], r["text"]) for r in reminders(person)] == [("timer", "")]
    assert wire.requests == []  # none of it asked the model


def test_a_timer_started_by_voice_waits_until_its_reply_is_heard(
    person: Account, wire: AnthropicWire
) -> None:
    worker, room = voice_worker(person)
    events = voice_stream(
        worker, {"transcript": "Set an egg timer for 5 minutes", "session_id": room}
    )
    done = [data for name, data in events if name == "done"][-1]
    held = done["home_action_id"]
    assert held and reminders(person) == []  # held: not started yet
    answer = worker.post(f"/api/voice/home-actions/{held}")
    assert answer.status_code == 200 and answer.json()["ok"], answer.text
    (timer,) = reminders(person)
    assert (timer["text"], timer["duration_seconds"]) == ("egg", 300)
    again = worker.post(f"/api/voice/home-actions/{held}").json()
    assert not again["ok"]  # started once
    assert wire.requests == []


def test_a_reminder_outlives_the_server_it_was_set_on(
    dsn: str, push_service: FakePushService, tmp_path: Path
) -> None:
    """Set on one server that then stops; the next server to start fires it: nothing
    about it lives in a process."""
    browser = push_service.browser()
    with live_server(make_settings(tmp_path / "first"), dsn) as first:
        person = register(first, dsn)
        subscribe(person, browser)
        made = add(person, text="Still here", due_at=soon(2.0)).json()
    with live_server(make_settings(tmp_path / "second"), dsn):
        assert wait_for(lambda: len(push_service.messages_for(browser)) == 1, timeout=10)
    assert browser.read(push_service.messages_for(browser)[0])["body"] == "Still here"
    assert firings(dsn, made["id"]) == 1
