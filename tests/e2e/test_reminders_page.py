"""The Reminders page end to end: a person in New York, on a laptop set to Tokyo time, sets
a reminder on their own clock, watches a timer count down, cancels both, and is told
why a time in the past is refused; notifications are offered only once there is
something to be reminded of, the subscription reaches the server (and leaves it at
sign-out), and the service worker shows a push and opens the page when it is clicked.
Real Chromium and the real API; the browser's push service is the one edge stood in
for: PushManager hands out a subscription of the local fake push service."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from butler.reminders.store import ReminderStore
from tests.e2e.conftest import DESKTOP, ConsoleLog
from tests.e2e.test_accessibility import violations
from tests.e2e.test_home_admin import sign_in
from tests.e2e.test_web_app import sign_out
from tests.fakes.push_service import FakePushService
from tests.support import Account, register, run

NEW_YORK = "America/New_York"
PROMPT = "Get notified when reminders are due"
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


@pytest.fixture(scope="module")
def push_service() -> Iterator[FakePushService]:
    with FakePushService().running() as service:
        yield service


def new_person(web_url: str, dsn: str, timezone: str) -> Account:
    account = register(web_url, dsn)
    changed = account.client.patch(
        "/api/users/me", headers=account.auth, json={"timezone": timezone}
    )
    assert changed.status_code == 200, changed.text
    return account


@pytest.fixture
def tokyo_laptop(web_url: str, browser: Browser) -> Iterator[BrowserContext]:
    """A device whose own clock is not the person's: the page must use the person's."""
    ctx = browser.new_context(
        base_url=web_url, viewport=DESKTOP, timezone_id="Asia/Tokyo", locale="en-GB"
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def waiting(account: Account) -> list[dict[str, Any]]:
    response = account.client.get("/api/reminders", headers=account.auth)
    assert response.status_code == 200, response.text
    reminders: list[dict[str, Any]] = response.json()["reminders"]
    return reminders


def day_in(timezone: str, days: int) -> date:
    return (datetime.now(ZoneInfo(timezone)) + timedelta(days=days)).date()


def open_reminders(page: Page) -> Locator:
    page.get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("link", name="Reminders")).to_have_attribute("aria-current", "page")
    return page.get_by_role("region", name="Reminders")


def add_reminder(page: Page, text: str, when: str, repeat: str = "Does not repeat") -> None:
    form = page.get_by_role("form", name="New reminder")
    form.get_by_label("What to remind you of").fill(text)
    form.get_by_label("When").fill(when)
    form.get_by_label("Repeat").select_option(label=repeat)
    form.get_by_role("button", name="Add reminder").click()


def start_timer(dsn: str, account: Account, name: str, minutes: int) -> None:
    """A timer as chat or voice sets one (the page itself sets reminders only)."""

    async def start(conn: asyncpg.Connection) -> None:
        await ReminderStore().add_timer(
            conn, account.id, name=name, duration=timedelta(minutes=minutes), timezone=NEW_YORK
        )

    run(start, dsn)


def test_a_reminder_is_set_on_the_persons_clock_listed_and_cancelled(
    web_url: str, dsn: str, tokyo_laptop: BrowserContext
) -> None:
    person = new_person(web_url, dsn, NEW_YORK)
    page = tokyo_laptop.new_page()
    console = ConsoleLog(page)
    sign_in(page, person)
    reminders = open_reminders(page)
    expect(reminders.get_by_text("Nothing waiting.")).to_be_visible()
    expect(reminders.get_by_text("In your time zone, America/New_York")).to_be_visible()

    # 18:30 tomorrow in New York, whatever the laptop's clock says.
    start_timer(dsn, person, "tea", minutes=5)
    tomorrow = day_in(NEW_YORK, 1)
    add_reminder(page, "Put the bins out", f"{tomorrow.isoformat()}T18:30", "Every weekday")
    form = page.get_by_role("form", name="New reminder")
    expect(form.get_by_role("status")).to_have_text("Set: Put the bins out — Tomorrow, 18:30.")
    expect(form.get_by_label("What to remind you of")).to_have_value("")
    (timer, reminder) = waiting(person)
    assert timer["kind"] == "timer" and timer["text"] == "tea"
    assert reminder["text"] == "Put the bins out"
    assert reminder["recurrence"] == WEEKDAYS
    assert datetime.fromisoformat(reminder["due_at"]) == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, 18, 30, tzinfo=ZoneInfo(NEW_YORK)
    )

    # Both listed, soonest first; the timer counts down every second.
    items = reminders.get_by_role("list", name="Waiting").get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("tea timer")
    expect(items.nth(1)).to_contain_text("Put the bins out")
    expect(items.nth(1)).to_contain_text("Tomorrow, 18:30 · Every weekday")
    countdown = items.nth(0).get_by_role("timer")
    expect(countdown).to_have_text(re.compile(r"^4:[45]\d$"))
    shown = countdown.inner_text()
    expect(countdown).not_to_have_text(shown, timeout=3000)
    expect(items.nth(0)).to_contain_text(" left")

    # The page passes axe-core with both listed and a message shown, in both schemes.
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme

    # Cancelled: gone from the page and from the server; the keyboard stays in the list.
    reminders.get_by_role("button", name="Cancel Put the bins out").click()
    waiting_list = page.get_by_role("region", name="Waiting")
    expect(waiting_list.get_by_role("status")).to_have_text("Cancelled: Put the bins out")
    expect(items).to_have_count(1)
    expect(page.get_by_role("heading", name="Waiting")).to_be_focused()
    assert [r["kind"] for r in waiting(person)] == ["timer"]
    reminders.get_by_role("button", name="Cancel tea timer").click()
    expect(reminders.get_by_text("Nothing waiting.")).to_be_visible()
    assert waiting(person) == []

    # A time already past: the server's reason, next to the form; nothing is set.
    yesterday = day_in(NEW_YORK, -1)
    add_reminder(page, "Too late", f"{yesterday.isoformat()}T08:00")
    expect(form.get_by_role("alert")).to_contain_text("due_at is in the past")
    expect(form.get_by_label("What to remind you of")).to_have_value("Too late")
    expect(reminders.get_by_text("Nothing waiting.")).to_be_visible()
    assert waiting(person) == []
    # The refusal's 422 is the only error in the console.
    assert len(console.errors) == 1 and "422" in console.errors[0], console.errors


# -- Notifications ---------------------------------------------------------------------

# PushManager as a browser with a push service has it, handing out a subscription of the
# fake push service; kept in sessionStorage, as a real one outlives a reload.
_FAKE_PUSH_MANAGER = """
(() => {
  const subscription = %s;
  const KEY = "test.push";
  const saved = () => JSON.parse(sessionStorage.getItem(KEY) || "null");
  const stats = () => JSON.parse(sessionStorage.getItem(KEY + ".stats") || '{"unsubscribed": 0}');
  const made = (record) => record && {
    endpoint: subscription.endpoint,
    expirationTime: null,
    options: {
      userVisibleOnly: record.userVisibleOnly,
      applicationServerKey: new Uint8Array(record.key).buffer,
    },
    toJSON: () => subscription,
    unsubscribe: async () => {
      sessionStorage.removeItem(KEY);
      const s = stats();
      s.unsubscribed += 1;
      sessionStorage.setItem(KEY + ".stats", JSON.stringify(s));
      return true;
    },
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = [...new Uint8Array(options.applicationServerKey)];
    sessionStorage.setItem(KEY, JSON.stringify({ key, userVisibleOnly: options.userVisibleOnly }));
    return made(saved());
  };
  PushManager.prototype.getSubscription = async function () { return made(saved()); };
  window.testPush = { saved, stats };
})();
"""


def subscribed_endpoints(dsn: str, account: Account) -> list[str]:
    async def endpoints(conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT endpoint FROM butler.push_subscriptions WHERE user_id = $1", account.id
        )
        return [row["endpoint"] for row in rows]

    return run(endpoints, dsn)


def deliver_push(page: Page, origin: str, payload: dict[str, str]) -> None:
    """What a push service's message does once the browser has decrypted it."""
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(100):
        if live := [r for r in registrations if not r["isDeleted"]]:
            break
        page.wait_for_timeout(50)  # lets Playwright take the events in
    else:
        pytest.fail("no service worker registration")
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": origin,
            "registrationId": live[0]["registrationId"],
            "data": json.dumps(payload),
        },
    )
    cdp.detach()


_NOTIFICATIONS = """async () => (await (await navigator.serviceWorker.ready).getNotifications())
    .map(n => ({title: n.title, body: n.body, tag: n.tag, icon: n.icon, data: n.data}))"""


def shown_notifications(page: Page, count: int, *, fail: bool = True) -> list[dict[str, Any]]:
    """The notifications shown, once there are `count` of them (a push arrives, or a
    click closes one, a moment after the call that caused it)."""
    for _ in range(100):
        notifications: list[dict[str, Any]] = page.evaluate(_NOTIFICATIONS)
        if len(notifications) == count:
            return notifications
        page.wait_for_timeout(50)
    if fail:
        pytest.fail(f"not {count} notifications shown: {notifications}")
    return notifications


def push_until_shown(page: Page, origin: str, payload: dict[str, str]) -> list[dict[str, Any]]:
    """Deliver the push, again if the worker showed nothing (under load Chromium can
    hand the first one to a worker version on its way out); a push service retries the
    same way, and the repeat's tag makes it replace the first, not add a second."""
    for _ in range(3):
        deliver_push(page, origin, payload)
        shown = shown_notifications(page, 1, fail=False)
        if len(shown) == 1:
            return shown
    pytest.fail(f"no notification shown after three pushes: {shown}")


def test_notifications_are_offered_after_a_first_reminder_and_reach_the_service_worker(
    web_url: str, dsn: str, context: BrowserContext, push_service: FakePushService
) -> None:
    person = new_person(web_url, dsn, "Europe/London")
    push_browser = push_service.browser()
    context.add_init_script(_FAKE_PUSH_MANAGER % json.dumps(push_browser.subscription()))
    page = context.new_page()
    console = ConsoleLog(page)
    sign_in(page, person)

    # Nothing to be reminded of yet: no offer.
    reminders = open_reminders(page)
    expect(reminders.get_by_text("Nothing waiting.")).to_be_visible()
    assert page.evaluate("Notification.permission") == "default"
    expect(page.get_by_role("button", name=PROMPT)).to_have_count(0)

    add_reminder(page, "Book the dentist", f"{day_in('Europe/London', 2).isoformat()}T09:00")
    expect(reminders.get_by_role("listitem")).to_have_count(1)
    prompt = page.get_by_role("button", name=PROMPT)
    expect(prompt).to_be_visible()
    assert subscribed_endpoints(dsn, person) == []

    # The person allows notifications when Chromium asks (granted here, for headless).
    context.grant_permissions(["notifications"])
    prompt.click()
    expect(reminders.get_by_role("status").filter(has_text="Notifications")).to_have_text(
        "Notifications are on for this browser."
    )
    expect(prompt).to_have_count(0)
    assert subscribed_endpoints(dsn, person) == [push_browser.endpoint]
    public_key = person.client.get("/api/push/public-key", headers=person.auth).json()
    key = base64.urlsafe_b64decode(public_key["public_key"] + "==")
    made = page.evaluate("window.testPush.saved()")
    assert made == {"key": list(key), "userVisibleOnly": True}

    # Allowed already: each load sends the subscription again (the server has it: 200),
    # and offers nothing.
    with page.expect_response(
        lambda r: r.url.endswith("/api/push/subscriptions") and r.request.method == "POST"
    ) as sent:
        page.reload()
    assert sent.value.status == 200
    expect(reminders.get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_role("button", name=PROMPT)).to_have_count(0)
    assert subscribed_endpoints(dsn, person) == [push_browser.endpoint]

    # A push is shown by the service worker, as the server words it.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    message = {
        "title": "Reminder",
        "body": "Book the dentist",
        "tag": "butler-test-1",
        "kind": "reminder",
        "url": "/#/reminders",
    }
    assert push_until_shown(page, web_url, message) == [
        {
            "title": "Reminder",
            "body": "Book the dentist",
            "tag": "butler-test-1",
            "icon": f"{web_url}/icons/icon-192.png",
            "data": {"url": "/#/reminders"},
        }
    ]

    # Clicked (from elsewhere in the app): closed, and the open window shows Reminders.
    page.get_by_role("link", name="Chat").click()
    (worker,) = context.service_workers
    worker.evaluate(
        """async () => {
            const [notification] = await self.registration.getNotifications();
            try {
                self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
            } catch {
                // A test's event cannot waitUntil(); the handler's work is under way.
            }
        }"""
    )
    expect(page.get_by_role("link", name="Reminders")).to_have_attribute("aria-current", "page")
    assert shown_notifications(page, 0) == []

    # Signing out takes this browser off the person's notifications, on both sides.
    sign_out(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert subscribed_endpoints(dsn, person) == []
    assert page.evaluate("window.testPush.stats()") == {"unsubscribed": 1}
    assert page.evaluate("window.testPush.saved()") is None
    assert console.errors == []


def test_without_web_push_the_page_says_so_instead_of_offering(
    web_url: str, dsn: str, context: BrowserContext
) -> None:
    """As on plain http to a LAN address, where browsers have no PushManager."""
    person = new_person(web_url, dsn, "Europe/London")
    context.add_init_script("delete window.PushManager")
    page = context.new_page()
    sign_in(page, person)
    reminders = open_reminders(page)
    expect(reminders.get_by_text("Nothing waiting.")).to_be_visible()
    expect(reminders.get_by_text("web push needs HTTPS")).to_have_count(0)
    add_reminder(page, "Call the plumber", f"{day_in('Europe/London', 1).isoformat()}T10:00")
    expect(reminders.get_by_text(re.compile("can't show Butler's notifications"))).to_be_visible()
    expect(page.get_by_role("button", name=PROMPT)).to_have_count(0)
