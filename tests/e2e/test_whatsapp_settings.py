"""WhatsApp in the web app end to end: a person links their number in Settings with the
code Butler sends on WhatsApp (after a number the page refuses, WhatsApp's 24-hour window
and a wrong code, each said on its field), chooses voice-note replies and unlinks; a
Butler without WhatsApp says so; an admin sees the channel's state and its problems on
the Tools page. Real Chromium, the real API, Meta's Graph API faked on 127.0.0.1."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Request, expect

from butler.users.models import Role
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, ConsoleLog, browsing
from tests.e2e.test_accessibility import AXE, violations
from tests.e2e.test_home_admin import sign_in
from tests.fakes.whatsapp_cloud import FakeWhatsAppCloud
from tests.support import Account, live_server, make_settings, register, run

BUSINESS = "+1 555 000 1111"  # Butler's number as people see it (display_number)
CHAT_LINK = "https://wa.me/15550001111"
NUMBER_HINT = "International form, e.g. +44 7700 900123"  # web/src/settings/whatsapp.ts
CODE_HINT = "The six digits in Butler's message on WhatsApp. A code lasts 10 minutes."
ME = "/api/users/me/whatsapp"
WEBHOOK = "/api/channels/whatsapp/webhook"
ADMIN_REFRESH_SECONDS = 5  # web/src/tools/whatsapp.ts WHATSAPP_REFRESH_MS


def new_number() -> str:
    """A UK mobile number in the range Ofcom keeps for drama, as WhatsApp names it."""
    return f"4477009{secrets.randbelow(100_000):05d}"


def spaced(number: str) -> str:
    """'447700912345' → '+44 7700 912345', as a person types it."""
    return f"+{number[:2]} {number[2:6]} {number[6:]}"


@pytest.fixture(scope="module")
def cloud() -> Iterator[FakeWhatsAppCloud]:
    with FakeWhatsAppCloud().running() as fake:
        yield fake


@pytest.fixture(scope="module")
def whatsapp_web_url(
    dsn: str, cloud: FakeWhatsAppCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server whose WhatsApp is the local fake of Meta's Graph API."""
    settings = make_settings(
        tmp_path_factory.mktemp("whatsapp-web"),
        whatsapp=cloud.settings(display_number=BUSINESS),
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture
def whatsapp_context(whatsapp_web_url: str, browser: Browser) -> Iterator[BrowserContext]:
    with browsing(browser, whatsapp_web_url) as ctx:
        yield ctx


@pytest.fixture(autouse=True)
def clean_cloud(cloud: FakeWhatsAppCloud) -> None:
    cloud.reset()


def whatsapp_of(account: Account) -> Any:
    response = account.client.get(ME, headers=account.auth)
    assert response.status_code == 200, response.text
    return response.json()


def open_whatsapp(page: Page) -> Locator:
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    form = page.get_by_role("form", name="WhatsApp")
    expect(form.get_by_text("Loading…")).to_have_count(0)
    return form


def code_in(cloud: FakeWhatsAppCloud, number: str) -> str:
    (message,) = cloud.wait_for_sent(number)
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, message.text
    return found.group(1)


def test_a_person_links_their_number_chooses_voice_replies_and_unlinks(
    whatsapp_web_url: str,
    whatsapp_context: BrowserContext,
    cloud: FakeWhatsAppCloud,
    dsn: str,
) -> None:
    person = register(whatsapp_web_url, dsn)
    number = new_number()
    page = whatsapp_context.new_page()
    console = ConsoleLog(page)
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and ME in r.url else None)
    sign_in(page, person)
    form = open_whatsapp(page)

    # Not linked: the number field, and Butler's own number to write to.
    expect(
        form.get_by_text("Not linked. Give your number and Butler sends a code to it on WhatsApp.")
    ).to_be_visible()
    expect(form).to_contain_text(f"Write to Butler at {BUSINESS}")
    expect(form.get_by_role("link", name=BUSINESS)).to_have_attribute("href", CHAT_LINK)
    field = form.get_by_label("Your WhatsApp number")
    expect(field).to_have_attribute("type", "tel")
    expect(field).to_have_attribute("autocomplete", "tel")
    expect(field).to_have_accessible_description(NUMBER_HINT)
    expect(form.get_by_label("Six-digit code")).to_have_count(0)

    # A number without its country code: said on the field, nothing sent.
    field.fill("07700 900123")
    form.get_by_role("button", name="Send code").click()
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        f"{NUMBER_HINT} Start with + and the country code, e.g. +44 7700 900123."
    )
    assert posts == []
    field.fill(spaced(number))
    expect(field).not_to_have_attribute("aria-invalid", "true")  # typing takes the mark away

    # WhatsApp will not let Butler write first: the server's reason and whom to write to.
    cloud.failures.append((400, 131047))
    form.get_by_role("button", name="Send code").click()
    window_closed = re.compile(
        r"^WhatsApp only lets Butler write first to someone who wrote to it in the last 24 "
        r"hours: .+ Message Butler at \+1 555 000 1111 first\.$"
    )
    expect(form.get_by_role("alert")).to_have_text(window_closed)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        re.compile(rf"^{re.escape(NUMBER_HINT)} WhatsApp only lets Butler write first .+ first\.$")
    )
    expect(form.get_by_label("Six-digit code")).to_have_count(0)
    assert whatsapp_of(person)["pending"] is None

    # Sent: the code field, with the keyboard on it.
    form.get_by_role("button", name="Send code").click()
    expect(form.get_by_role("status")).to_have_text(
        f"Sent. Look for Butler's message on WhatsApp at +{number}."
    )
    code_field = form.get_by_label("Six-digit code")
    expect(code_field).to_be_focused()
    expect(code_field).to_have_attribute("inputmode", "numeric")
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    expect(code_field).to_have_accessible_description(
        re.compile(
            rf"^{re.escape(CODE_HINT)} A code was sent to \+{number} on WhatsApp; "
            r"it works until .+\.$"
        )
    )
    expect(field).to_have_count(0)
    code = code_in(cloud, number)
    assert whatsapp_of(person)["pending"]["phone_number"] == f"+{number}"

    # Another code at once is too soon: the server's reason.
    form.get_by_role("button", name="Send a new code").click()
    expect(form.get_by_role("alert")).to_have_text(
        re.compile(r"^A code was just sent; ask again in \d+ s\.$")
    )
    assert len(cloud.sent_to(number)) == 1

    # A wrong code: the server's reason on the field, with the tries left.
    code_field.fill("000000" if code != "000000" else "111111")
    form.get_by_role("button", name="Link").click()
    expect(form.get_by_role("alert")).to_have_text("That code is not right; 4 tries left.")
    expect(code_field).to_be_focused()
    expect(code_field).to_have_attribute("aria-invalid", "true")
    expect(code_field).to_have_accessible_description(
        re.compile(r"That code is not right; 4 tries left\.$")
    )
    assert whatsapp_of(person)["phone_number"] is None

    # The right one, as WhatsApp shows it (spaces and all): linked.
    code_field.fill(f"{code[:3]} {code[3:]}")
    expect(code_field).not_to_have_attribute("aria-invalid", "true")
    form.get_by_role("button", name="Link").click()
    expect(form.get_by_role("status")).to_have_text(
        f"Linked. Write to Butler on WhatsApp from +{number}."
    )
    now = form.get_by_text(re.compile(rf"^Linked to \+{number} on .+\.$"))
    expect(now).to_be_visible()
    expect(now).to_be_focused()  # the Link button is gone
    linked = whatsapp_of(person)
    assert (linked["phone_number"], linked["voice_replies"]) == (f"+{number}", False)
    assert linked["pending"] is None and linked["linked_at"]

    # Voice notes answered with a voice note: saved at once, kept over a reload.
    voice = form.get_by_role("checkbox", name="Answer my voice notes with a voice note")
    expect(voice).not_to_be_checked()
    voice.check()
    expect(form.get_by_role("status")).to_have_text("Saved: a voice note gets a voice note back.")
    assert whatsapp_of(person)["voice_replies"] is True
    page.reload()
    form = open_whatsapp(page)
    expect(voice).to_be_checked()
    voice.uncheck()
    expect(form.get_by_role("status")).to_have_text("Saved: a voice note gets a written answer.")
    assert whatsapp_of(person)["voice_replies"] is False
    voice.check()
    expect(form.get_by_role("status")).to_have_text("Saved: a voice note gets a voice note back.")

    # The page passes axe-core with a number linked, and is pictured for the docs.
    assert AXE.exists(), "axe-core is missing: run `make web`"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        for scheme in ("dark", "light"):
            page.emulate_media(color_scheme=scheme)
            assert violations(page) == [], (size_name, scheme)
        page.evaluate("document.querySelector('form.whatsapp').scrollIntoView()")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"settings-whatsapp-{size_name}.png"))

    # Unlinking asks first; cancelling puts the keyboard back on Unlink.
    form.get_by_role("button", name="Unlink").click()
    confirm = form.get_by_role("group", name="Confirm unlinking")
    expect(confirm).to_contain_text(f"Unlink +{number}? Butler stops answering it on WhatsApp.")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    expect(form.get_by_role("button", name="Unlink")).to_be_focused()
    assert whatsapp_of(person)["phone_number"] == f"+{number}"
    form.get_by_role("button", name="Unlink").click()
    confirm.get_by_role("button", name="Unlink").click()
    expect(form.get_by_role("status")).to_have_text(
        f"Unlinked. Butler no longer answers +{number} on WhatsApp."
    )
    expect(form.get_by_label("Your WhatsApp number")).to_be_focused()
    expect(voice).to_have_count(0)
    assert whatsapp_of(person)["phone_number"] is None

    # Only the three refusals' answers are in the console: 409, 429 and 422.
    assert len(console.errors) == 3, console.errors
    for status, error in zip(("409", "429", "422"), console.errors, strict=True):
        assert status in error, console.errors


def test_a_code_waiting_is_there_after_a_reload_and_another_number_can_be_given(
    whatsapp_web_url: str,
    whatsapp_context: BrowserContext,
    cloud: FakeWhatsAppCloud,
    dsn: str,
) -> None:
    person = register(whatsapp_web_url, dsn)
    first = new_number()
    asked = person.client.post(ME, json={"phone_number": f"+{first}"}, headers=person.auth)
    assert asked.status_code == 202, asked.text
    code_in(cloud, first)
    page = whatsapp_context.new_page()
    console = ConsoleLog(page)
    sign_in(page, person)
    form = open_whatsapp(page)

    # The code asked for (here, or in another browser) is waiting: its field is shown.
    expect(
        form.get_by_text(re.compile(rf"^A code was sent to \+{first} on WhatsApp; it works until"))
    ).to_be_visible()
    expect(form.get_by_label("Six-digit code")).to_be_visible()
    # A code is six digits: said before anything is sent.
    form.get_by_label("Six-digit code").fill("12345")
    form.get_by_role("button", name="Link").click()
    expect(form.get_by_label("Six-digit code")).to_have_accessible_description(
        re.compile(r"The code is six digits, like 123456\.$")
    )

    # Another number instead: the field holds the one the code went to.
    form.get_by_role("button", name="Use another number").click()
    field = form.get_by_label("Your WhatsApp number")
    expect(field).to_be_focused()
    expect(field).to_have_value(f"+{first}")
    form.get_by_role("button", name="Back to the code").click()
    expect(form.get_by_label("Six-digit code")).to_be_focused()
    form.get_by_role("button", name="Use another number").click()
    second = new_number()
    field.fill(spaced(second))
    # Sending again within the resend pause is refused, on the field.
    form.get_by_role("button", name="Send code").click()
    expect(field).to_have_accessible_description(
        re.compile(rf"^{re.escape(NUMBER_HINT)} A code was just sent; ask again in \d+ s\.$")
    )
    assert cloud.sent_to(second) == []
    assert console.errors and "429" in console.errors[0], console.errors


def test_a_butler_without_whatsapp_says_so(web_url: str, context: BrowserContext, dsn: str) -> None:
    admin = register(web_url, dsn, Role.ADMIN)
    page = context.new_page()
    console = ConsoleLog(page)
    sign_in(page, admin)
    form = open_whatsapp(page)
    expect(form).to_contain_text(
        "WhatsApp is not set up on this Butler. An admin sets it up in Butler's settings "
        "(BUTLER_WHATSAPP__*)."
    )
    expect(form.get_by_role("textbox")).to_have_count(0)
    expect(form.get_by_role("button")).to_have_count(0)
    assert whatsapp_of(admin)["available"] is False

    page.get_by_role("link", name="Tools").click()
    panel = page.get_by_role("region", name="WhatsApp")
    expect(panel).to_contain_text("Not set up. Set BUTLER_WHATSAPP__ACCESS_TOKEN")
    expect(panel).to_contain_text("No messages waiting to be answered.")
    expect(panel).to_contain_text("None lately.")
    assert console.errors == [], console.errors


def _add_problem(dsn: str, phone_number: str | None, what: str, detail: str) -> None:
    async def insert(conn: asyncpg.Connection) -> None:
        await conn.execute(
            """INSERT INTO butler.whatsapp_problems (phone_number, what, detail)
               VALUES ($1, $2, $3)""",
            phone_number,
            what,
            detail,
        )

    run(insert, dsn)


def test_an_admin_sees_the_channel_and_its_problems_on_the_tools_page(
    whatsapp_web_url: str, whatsapp_context: BrowserContext, dsn: str
) -> None:
    admin = register(whatsapp_web_url, dsn, Role.ADMIN)
    number = new_number()
    _add_problem(
        dsn, number, "a reminder was not sent", "Message failed to send because more than 24 hours"
    )
    page = whatsapp_context.new_page()
    console = ConsoleLog(page)
    sign_in(page, admin)
    page.get_by_role("link", name="Tools").click()
    panel = page.get_by_role("region", name="WhatsApp")

    expect(
        panel.get_by_text("Set up: Butler answers messages to its WhatsApp number.")
    ).to_be_visible()
    expect(panel.locator("code")).to_have_text(f"{whatsapp_web_url}{WEBHOOK}")
    expect(panel).to_contain_text("No messages waiting to be answered.")
    problems = panel.get_by_role("list", name="Recent problems").get_by_role("listitem")
    mine = problems.filter(has_text=f"+{number}")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("A reminder was not sent")
    expect(mine).to_contain_text("Message failed to send because more than 24 hours")
    expect(mine.locator("time")).to_have_text(re.compile(r"^Today, "))

    # A new problem shows while the page is open (the panel is asked for again).
    _add_problem(dsn, None, "a message could not be answered", "every attempt was cut short")
    newest = problems.first
    expect(newest).to_contain_text(
        "A message could not be answered", timeout=(ADMIN_REFRESH_SECONDS + 3) * 1000
    )
    expect(newest).to_contain_text("No number")
    expect(newest).to_contain_text("every attempt was cut short")

    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        for scheme in ("dark", "light"):
            page.emulate_media(color_scheme=scheme)
            assert violations(page) == [], (size, scheme)
    assert console.errors == [], console.errors

    # A member's API gives them nothing of it.
    member = register(whatsapp_web_url, dsn)
    assert member.client.get("/api/admin/whatsapp", headers=member.auth).status_code == 403
