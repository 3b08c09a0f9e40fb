"""The chat window as people know it, at phone and desktop size: a fixed header and
composer with the newest message in view between them, a pane that follows a reply only
while you are at the bottom, "Jump to latest", Copy, Edit, a stopped or failed turn that
survives a reload with Retry, Escape to stop with the keyboard kept in the composer, a
focus ring that can be seen, and a temporary chat. Real Chromium, the real API, Claude's
wire format on 127.0.0.1."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.conftest import DESKTOP, PHONE, browsing
from tests.e2e.test_accessibility import violations
from tests.e2e.test_web_app import last_reply, send, sign_up
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import PASSWORD, run


def _user_id(dsn: str, username: str) -> Any:
    async def find(conn: asyncpg.Connection) -> Any:
        return await conn.fetchval("SELECT id FROM butler.users WHERE username = $1", username)

    return run(find, dsn)


def _long_history(dsn: str, username: str, turns: int = 14) -> None:
    user_id = _user_id(dsn, username)

    async def fill(conn: asyncpg.Connection) -> None:
        for n in range(turns):
            for role, text in (("user", f"Question {n}"), ("assistant", f"Answer {n}. " * 6)):
                await conn.execute(
                    "INSERT INTO butler.conversation_history (user_id, channel, role, content, "
                    "created_at) VALUES ($1, 'text', $2, $3, now() - make_interval(mins => $4))",
                    user_id,
                    role,
                    text,
                    turns - n,
                )

    run(fill, dsn)


def _inside(page: Page, selector: str, *, whole: bool = True) -> bool:
    """Is the element's whole box (or, for one taller than the pane, its end) between
    the header's bottom and the composer's top?"""
    page.wait_for_timeout(200)  # the pane settles after the last render
    result: bool = page.evaluate(
        """([selector, whole]) => {
            const box = document.querySelector(selector).getBoundingClientRect();
            const top = document.querySelector('.topbar').getBoundingClientRect().bottom;
            const bottom = document.querySelector('form.composer').getBoundingClientRect().top;
            const ends = box.bottom <= bottom + 1 && box.bottom > top;
            return ends && (!whole || box.top >= top - 1);
        }""",
        [selector, whole],
    )
    return result


def _at_bottom(page: Page) -> bool:
    result: bool = page.evaluate(
        "() => { const p = document.querySelector('.messages');"
        " return p.scrollHeight - p.scrollTop - p.clientHeight <= 48; }"
    )
    return result


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_newest_message_stays_in_view_and_reading_back_stays_put(
    browser: Browser, web_url: str, dsn: str, wire: AnthropicWire, size: ViewportSize
) -> None:
    with browsing(browser, web_url) as context:
        page = context.new_page()
        page.set_viewport_size(size)
        username = sign_up(page, dsn)
        _long_history(dsn, username)
        page.reload()
        expect(last_reply(page)).to_contain_text("Answer 13.")
        assert _inside(page, "article.message:last-of-type"), page.evaluate(
            "() => { const p = document.querySelector('.messages');"
            " const s = document.querySelector('.screen');"
            " return [p.scrollTop, p.clientHeight, p.scrollHeight, s.scrollTop, s.scrollHeight,"
            " s.clientHeight, document.querySelector('article.message:last-of-type')"
            ".getBoundingClientRect().bottom,"
            " document.querySelector('form.composer').getBoundingClientRect().top]; }"
        )
        expect(page.locator(".topbar")).to_be_in_viewport()

        # While at the bottom, the streaming reply is followed.
        wire.play(Reply.say("Here is a long answer. " * 40, chunk_delay=0.04))
        send(page, "Tell me everything")
        expect(last_reply(page)).to_contain_text("Here is a long answer. " * 12)
        assert _at_bottom(page)
        expect(page.get_by_role("button", name="Jump to latest")).to_have_count(0)

        # Reading back: the pane stays where the person put it while the reply grows.
        page.locator(".messages").evaluate("pane => pane.scrollTop = 0")
        jump = page.get_by_role("button", name="Jump to latest")
        expect(jump).to_be_visible()
        page.wait_for_timeout(400)
        assert page.locator(".messages").evaluate("pane => pane.scrollTop") < 5
        expect(page.locator(".topbar")).to_be_in_viewport()
        jump.click()
        expect(jump).to_have_count(0)
        assert _at_bottom(page)
        expect(last_reply(page)).to_have_attribute("data-status", "done", timeout=15_000)
        # A long reply may be taller than the pane: its end is what must be in view.
        assert _inside(page, "article.message:last-of-type", whole=False)


def test_a_stopped_turn_survives_a_reload_and_retry_asks_again(
    page: Page, dsn: str, wire: AnthropicWire
) -> None:
    sign_up(page, dsn)
    wire.play(Reply.say("Counting sheep: " + "one sheep, " * 60, chunk_delay=0.1))
    send(page, "Count sheep for me")
    expect(last_reply(page).locator(".markdown")).to_contain_text("Counting sheep")
    page.keyboard.press("Escape")  # stops from anywhere on the page
    expect(last_reply(page)).to_contain_text("Stopped.")
    # The keyboard stays in the composer, not on the page's body.
    assert page.evaluate("document.activeElement.id") == "message"
    # However far the reply had got when it stopped is what comes back after a reload.
    partial = last_reply(page).locator(".markdown").inner_text()
    assert partial.startswith("Counting sheep")

    page.reload()
    expect(page.locator("article.message.user .plain")).to_have_text(["Count sheep for me"])
    expect(last_reply(page)).to_contain_text("Stopped.")
    expect(last_reply(page).locator(".markdown")).to_have_text(partial)
    wire.play(Reply.say("Fine: one sheep, two sheep. Goodnight."))
    last_reply(page).get_by_role("button", name="Retry").click()
    expect(last_reply(page)).to_contain_text("Goodnight.")
    expect(page.locator("article.message.user .plain")).to_have_text(["Count sheep for me"])
    page.reload()
    expect(last_reply(page)).to_contain_text("Goodnight.")
    expect(page.get_by_text("Stopped.")).to_have_count(0)


def test_a_failed_turn_can_be_dismissed(page: Page, dsn: str, wire: AnthropicWire) -> None:
    sign_up(page, dsn)
    wire.play(*[Reply.fail(529)] * 4)
    send(page, "Are you there?")
    expect(last_reply(page).get_by_role("alert")).to_be_visible(timeout=15_000)
    page.reload()
    expect(page.locator("article.message.user .plain")).to_have_text(["Are you there?"])
    last_reply(page).get_by_role("button", name="Dismiss").click()
    expect(page.locator("article.message")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("Ask Butler anything")).to_be_visible()


def test_copy_edit_and_timestamps(page: Page, dsn: str, wire: AnthropicWire) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page, dsn)
    wire.play(Reply.say("The bins go out on **Thursday**."))
    send(page, "When do the bins go out?")
    expect(last_reply(page)).to_contain_text("Thursday.")
    expect(last_reply(page).locator("time")).to_have_count(1)
    last_reply(page).get_by_role("button", name="Copy").click()
    expect(last_reply(page).get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "The bins go out on **Thursday**."
    page.locator("article.message.user").last.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Message to")).to_have_value("When do the bins go out?")
    assert page.evaluate("document.activeElement.id") == "message"
    # Cancelled: the composer is empty again and nothing changed.
    page.get_by_role("button", name="Cancel edit").click()
    expect(page.get_by_label("Message to")).to_have_value("")
    expect(page.get_by_role("group", name="Editing a message")).to_have_count(0)


def test_edit_and_resend_replaces_the_exchange(page: Page, dsn: str, wire: AnthropicWire) -> None:
    sign_up(page, dsn)
    wire.play(
        Reply.say("The bins go out on Thursday."),
        Reply.say("Noted: milk."),
        Reply.say("The recycling goes out on Friday."),
        Reply.say("Noted: oat milk."),
    )
    send(page, "When do the bins go out?")
    expect(last_reply(page)).to_contain_text("Thursday.")
    send(page, "Buy milk")
    expect(last_reply(page)).to_contain_text("Noted: milk.")
    questions = page.locator("article.message.user .plain")

    # An earlier question, as loaded from history: edited, it and its reply are replaced.
    page.reload()
    questions.first.locator("xpath=..").get_by_role("button", name="Edit").click()
    expect(page.get_by_role("group", name="Editing a message")).to_be_visible()
    page.get_by_label("Message to").fill("When does the recycling go out?")
    page.get_by_label("Message to").press("Enter")
    expect(last_reply(page)).to_contain_text("Friday.")
    expect(page.get_by_role("group", name="Editing a message")).to_have_count(0)
    expect(questions).to_have_text(["Buy milk", "When does the recycling go out?"])
    # The model was asked without the replaced exchange.
    asked = json.dumps(wire.requests[-1]["messages"])  # (the prompt names today's weekday)
    assert "bins" not in asked and "Thursday" not in asked and "Buy milk" in asked

    # The question just sent from this page (whose reply alone has a stored id).
    questions.last.locator("xpath=..").get_by_role("button", name="Edit").click()
    page.get_by_label("Message to").fill("Buy oat milk")
    page.get_by_role("button", name="Send").click()
    expect(last_reply(page)).to_contain_text("Noted: oat milk.")
    page.reload()
    expect(questions).to_have_text(["Buy milk", "Buy oat milk"])
    expect(page.locator("article.message.assistant .markdown")).to_have_text(
        ["Noted: milk.", "Noted: oat milk."]
    )


def test_a_temporary_chat_is_not_kept(page: Page, dsn: str, wire: AnthropicWire) -> None:
    sign_up(page, dsn)
    page.get_by_role("switch", name="Temporary").check()
    wire.play(Reply.say("Between us: the surprise party is on Friday."))
    send(page, "Plan a surprise party")
    expect(last_reply(page)).to_contain_text("surprise party is on Friday.")
    expect(last_reply(page)).to_contain_text("temporary: not kept")
    page.reload()
    expect(page.get_by_text("Plan a surprise party")).to_have_count(0)


def test_the_focus_ring_can_be_seen(page: Page, dsn: str) -> None:
    sign_up(page, dsn)
    page.get_by_label("Message to").focus()
    page.keyboard.press("Shift+Tab")
    ratio: float = page.evaluate(
        """() => {
            const channel = (c) => {
                c /= 255;
                return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
            };
            const luminance = (rgb) => {
                const [r, g, b] = rgb.match(/\\d+(\\.\\d+)?/g).map(Number);
                return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
            };
            const ring = luminance(getComputedStyle(document.activeElement).outlineColor);
            const page = luminance(getComputedStyle(document.documentElement).backgroundColor);
            const [hi, lo] = [Math.max(ring, page), Math.min(ring, page)];
            return (hi + 0.05) / (lo + 0.05);
        }"""
    )
    assert ratio >= 3.0, ratio


def test_sign_out_forgets_the_page_and_the_next_sign_in_opens_on_chat(
    page: Page, dsn: str, wire: AnthropicWire
) -> None:
    username = sign_up(page, dsn)
    # A stopped turn is kept by this browser for its person only: not after sign-out.
    wire.play(Reply.say("A private answer: " + "more words, " * 60, chunk_delay=0.1))
    send(page, "Something private")
    expect(last_reply(page).locator(".markdown")).to_contain_text("A private answer")
    page.keyboard.press("Escape")
    expect(last_reply(page)).to_contain_text("Stopped.")
    kept = "Object.keys(localStorage).filter(k => k.startsWith('butler.unfinished.'))"
    assert len(page.evaluate(kept)) == 1
    page.get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(r"#/settings$"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert "#/settings" not in page.url
    assert page.evaluate(kept) == []
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Chat")).to_have_attribute("aria-current", "page")


def test_replies_render_tables_quotes_and_code_with_a_copy_button(
    page: Page, dsn: str, wire: AnthropicWire
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page, dsn)
    wire.play(
        Reply.say(
            "| Day | Bins |\n|---|---|\n| Thu | Green |\n\n> Remember the glass.\n\n"
            "```\nbutler invite --admin\n```\n\n"
            '```python\nif lights_on:  # after sunset\n    print("<b>off</b>")\n```\n'
        )
    )
    send(page, "Bins and a command")
    # The Python block is coloured by token, its markup shown as text, not obeyed.
    python = last_reply(page).locator("pre code.language-python")
    expect(python.locator(".hljs-keyword").first).to_have_text("if")
    expect(python.locator(".hljs-comment")).to_have_text("# after sunset")
    expect(python.locator(".hljs-string")).to_have_text('"<b>off</b>"')
    expect(python.locator("b")).to_have_count(0)
    keyword, text = (
        python.locator(".hljs-keyword").first.evaluate("k => getComputedStyle(k).color"),
        python.evaluate("c => getComputedStyle(c).color"),
    )
    assert keyword != text, "keywords stand out from the rest"
    for scheme in ("dark", "light"):  # every colour readable in both schemes
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme
    reply = last_reply(page)
    expect(reply.locator("table")).to_be_visible()
    assert reply.locator("td").first.evaluate("td => getComputedStyle(td).borderTopStyle") == (
        "solid"
    )
    rule = reply.locator("blockquote").evaluate("q => getComputedStyle(q).borderLeftWidth")
    assert float(rule.removesuffix("px")) >= 2
    reply.get_by_role("button", name="Copy code").first.click()
    expect(reply.get_by_role("button", name="Copied")).to_be_visible()
    # Copied as typed to a terminal: without a newline that would run it at once.
    assert page.evaluate("navigator.clipboard.readText()") == "butler invite --admin"
    # What a person types is shown as typed, not in bold like the labels.
    page.get_by_role("link", name="Settings").click()
    weight = page.get_by_label("Your name").evaluate("i => getComputedStyle(i).fontWeight")
    assert weight == "400"


def test_history_search_shows_the_matching_messages(
    page: Page, dsn: str, wire: AnthropicWire
) -> None:
    sign_up(page, dsn)
    wire.play(Reply.say("The bins go out on Thursday."), Reply.say("Noted: milk."))
    send(page, "When do the bins go out?")
    expect(last_reply(page)).to_contain_text("Thursday.")
    send(page, "Buy milk")
    expect(last_reply(page)).to_contain_text("Noted: milk.")
    page.get_by_label("Search your conversations").fill("BINS")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.get_by_role("region", name="Search results")
    expect(results.locator("article")).to_have_count(2)
    expect(results).to_contain_text("The bins go out on Thursday.")
    expect(results).not_to_contain_text("milk")
    results.get_by_role("button", name="Back to the conversation").click()
    expect(page.get_by_role("region", name="Search results")).to_have_count(0)
