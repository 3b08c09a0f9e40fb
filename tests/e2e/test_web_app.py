"""The PWA end to end: sign-in, streaming chat, stop, reload, personality, sign-out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import asyncpg
from playwright.sync_api import Locator, Page, Route, expect

from butler.users.models import Role
from tests.e2e.conftest import PHONE, ConsoleLog
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import PASSWORD, new_invite, run, unique_name


def sign_up(page: Page, dsn: str, name: str = "Ann", role: Role = Role.MEMBER) -> str:
    username = unique_name("web")
    page.goto(f"/?invite={new_invite(dsn, role)}")
    expect(page.get_by_role("tab", name="Create account")).to_have_attribute(
        "aria-selected", "true"
    )
    page.get_by_label("Username").fill(username)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("link", name="Chat")).to_be_visible()
    return username


def sign_out(page: Page) -> None:
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Sign out").click()


def send(page: Page, text: str) -> None:
    page.get_by_label("Message to").fill(text)
    page.get_by_label("Message to").press("Enter")


def last_reply(page: Page) -> Locator:
    return page.locator("article.message.assistant").last


def stored_history(dsn: str, username: str) -> list[str]:
    async def fetch(conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT h.content FROM butler.conversation_history h JOIN butler.users u"
            " ON u.id = h.user_id WHERE u.username = $1 ORDER BY h.id",
            username,
        )
        return [r["content"] for r in rows]

    return run(fetch, dsn)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_register_with_an_invite_then_log_in_again(page: Page, dsn: str, console: ConsoleLog):
    username = sign_up(page, dsn)
    expect(page.get_by_role("heading", name="Butler")).to_be_visible()
    sign_out(page)
    expect(page.get_by_role("tab", name="Sign in")).to_have_attribute("aria-selected", "true")

    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Chat")).to_be_visible()
    # The failed sign-in's 401 is the only console error a person could see.
    assert all("401" in e for e in console.errors), console.errors


def test_a_reply_streams_in_as_sanitised_markdown(
    page: Page, dsn: str, wire: AnthropicWire, console: ConsoleLog
):
    sign_up(page, dsn)
    text = "Of course. The **kitchen** lights are off, and the oven is cooling down now."
    wire.play(Reply.say(text, chunk_delay=0.08))
    send(page, "Lights off please")

    expect(page.locator("article.message.user .plain").last).to_have_text("Lights off please")
    # Part of the reply shows while the rest is still on its way, with a Stop button.
    page.wait_for_function(
        """() => {
            const replies = document.querySelectorAll('article.assistant .markdown');
            const t = [...replies].pop()?.textContent ?? '';
            return t.length > 0 && !t.includes('cooling down now.');
        }"""
    )
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(last_reply(page).locator(".markdown")).to_have_text(text.replace("**", ""))
    expect(last_reply(page).locator("strong")).to_have_text("kitchen")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert console.errors == []


def test_model_markup_cannot_run_script_or_load_images(page: Page, dsn: str, wire: AnthropicWire):
    sign_up(page, dsn)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    wire.play(
        Reply.say(
            'Look: <img src="http://127.0.0.1:9/x.png" onerror="alert(1)"> '
            "<script>alert(2)</script> [link](javascript:alert(3)) done."
        )
    )
    send(page, "Show me")
    expect(last_reply(page)).to_contain_text("done.")
    reply = last_reply(page)
    assert reply.locator("img, script").count() == 0
    href = reply.locator("a").first.get_attribute("href") if reply.locator("a").count() else None
    assert href is None or not href.startswith("javascript:")
    assert dialogs == []


def test_tool_activity_shows_while_the_tool_runs(page: Page, dsn: str, wire: AnthropicWire):
    sign_up(page, dsn)
    wire.play(
        Reply.use_tools(("slow_lookup", {"item": "milk"})),
        Reply.say("We have two litres of milk."),
    )
    send(page, "How much milk is there?")
    expect(page.get_by_text("Looking something up…")).to_be_visible()
    expect(last_reply(page).locator(".markdown")).to_have_text("We have two litres of milk.")
    expect(last_reply(page).locator(".tool")).to_have_text("Looking something up: done")


def test_stop_cancels_the_request_and_stores_nothing(page: Page, dsn: str, wire: AnthropicWire):
    username = sign_up(page, dsn)
    wire.play(Reply.say("Counting sheep: " + "one sheep, " * 60, chunk_delay=0.1))
    send(page, "Count sheep for me")
    expect(last_reply(page).locator(".markdown")).to_contain_text("Counting")
    page.get_by_role("button", name="Stop").click()
    expect(last_reply(page)).to_contain_text("Stopped.")
    wait_until(lambda: wire.disconnects >= 1)  # the upstream request was really cancelled
    assert wire.completed == 0

    # The server stored nothing; this browser keeps the unfinished turn to retry.
    assert stored_history(dsn, username) == []
    page.reload()
    expect(page.get_by_label("Message to")).to_be_visible()
    expect(last_reply(page).get_by_role("button", name="Retry")).to_be_visible()


def test_a_message_sent_before_the_history_arrives_is_kept(
    page: Page, dsn: str, wire: AnthropicWire
):
    """A quick first message must not be wiped by the history page that lands after it."""
    sign_up(page, dsn)
    held: list[Route] = []
    page.route("**/api/chat/history?*", lambda route: held.append(route), times=1)
    page.reload()
    expect(page.get_by_label("Message to")).to_be_visible()
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the history request was not made"
    wire.play(Reply.say("Here is the answer, " + "slowly, " * 10, chunk_delay=0.1))
    send(page, "A quick question")
    page.wait_for_timeout(300)
    # The history as it was when asked for: empty, arriving while the reply streams.
    held[0].fulfill(json={"messages": [], "next_before": None})
    expect(last_reply(page)).to_contain_text("Here is the answer, slowly, slowly")
    expect(page.locator("article.message.user .plain")).to_have_text(["A quick question"])


def test_reload_keeps_the_session_and_the_history(page: Page, dsn: str, wire: AnthropicWire):
    sign_up(page, dsn)
    wire.play(Reply.say("Noted: the plumber comes on Tuesday."))
    send(page, "The plumber comes on Tuesday")
    expect(last_reply(page)).to_contain_text("plumber comes on Tuesday.")

    page.reload()
    expect(page.get_by_role("link", name="Chat")).to_be_visible()
    expect(page.locator("article.message.user .plain")).to_have_text(
        ["The plumber comes on Tuesday"]
    )
    expect(last_reply(page)).to_contain_text("Noted: the plumber comes on Tuesday.")


def test_personality_change_reaches_the_next_request(
    page: Page, dsn: str, wire: AnthropicWire, console: ConsoleLog
):
    sign_up(page, dsn)
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Butler's name").fill("Jeeves")
    page.get_by_label("Style").select_option("formal")
    page.get_by_label("Anything else").fill("Always mention the garden.")
    page.get_by_label("Voice").select_option(index=1)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(page.get_by_role("heading", name="Jeeves")).to_be_visible()

    page.get_by_role("link", name="Chat").click()
    send(page, "Good evening")
    expect(last_reply(page)).to_contain_text("Certainly.")
    request = json.dumps(wire.requests[-1])
    assert "Jeeves" in request
    assert "Always mention the garden." in request
    assert console.errors == []


def test_settings_offer_this_devices_time_zone_and_show_the_outcome(page: Page, dsn: str):
    sign_up(page, dsn)
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="Settings").click()
    device = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    page.get_by_label("Time zone").select_option("Pacific/Auckland")
    page.get_by_role("button", name="Use this device's time zone").click()
    expect(page.get_by_label("Time zone")).to_have_value(device)
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save", exact=True).click()
    # On a phone the outcome is brought into view, not left below the fold.
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_in_viewport()
    page.reload()
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")


def test_clear_history_asks_first(page: Page, dsn: str, wire: AnthropicWire):
    sign_up(page, dsn)
    send(page, "Remember the milk")
    expect(last_reply(page)).to_contain_text("Certainly.")
    page.get_by_role("button", name="Clear history").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("article.message")).to_have_count(2)
    page.get_by_role("button", name="Clear history").click()
    page.get_by_role("button", name="Delete history").click()
    expect(page.locator("article.message")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("Ask Butler anything")).to_be_visible()


def test_sign_out_ends_the_session_for_good(page: Page, dsn: str):
    sign_up(page, dsn)
    sign_out(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Chat")).to_have_count(0)


def test_the_memory_page_adds_searches_and_forgets(page: Page, dsn: str, console: ConsoleLog):
    sign_up(page, dsn)
    page.get_by_role("link", name="Memory").click()
    expect(page.get_by_text("Nothing remembered yet.")).to_be_visible()
    for fact in ("Has a golden retriever called Biscuit", "Is allergic to peanuts"):
        page.get_by_label("Something to remember").fill(fact)
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_role("list", name="Memories")).to_contain_text(fact)

    page.get_by_label("Search memories").fill("what is my dog called")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("listitem").first).to_contain_text("Biscuit")

    page.get_by_role("button", name="Forget: Has a golden retriever called Biscuit").click()
    expect(page.get_by_role("status")).to_contain_text("Forgotten")
    # Undo is offered for a while; leaving the page makes the forgetting final at once.
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        page.get_by_role("link", name="Chat").click()
    assert deleted.value.status == 204
    page.reload()
    page.get_by_role("link", name="Memory").click()
    items = page.get_by_role("list", name="Memories").get_by_role("listitem")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("peanuts")

    page.get_by_role("button", name="Forget everything…").click()
    page.get_by_role("button", name="Forget everything", exact=True).click()
    expect(page.get_by_text("Nothing remembered yet.")).to_be_visible()
    assert console.errors == []
