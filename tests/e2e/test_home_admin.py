"""The Home page end to end: an admin connects Home Assistant through the page (a wrong
token, then the right one), chooses what Butler may use, keeps a member away from the
locks and disconnects again; a member never sees the page. Real Chromium, the real API
with no Home Assistant settings, the fake Home Assistant on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from butler.users.models import Role
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, ConsoleLog, browsing
from tests.e2e.test_accessibility import AXE, violations
from tests.fakes.home_assistant import TOKEN, VERSION, FakeHomeAssistant
from tests.support import PASSWORD, Account, live_server, make_settings, register, run

ENCRYPTION_KEY = "e2e-home-" + "k" * 40
AREAS = ["Bedroom", "Garage", "Hall", "Kitchen", "Living Room"]


def _forget_connection(dsn: str) -> None:
    async def clear(conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM butler.home_connection")

    run(clear, dsn)


@pytest.fixture(scope="module")
def home_web_url(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with no Home Assistant settings: the page connects it."""
    settings = make_settings(tmp_path_factory.mktemp("home-web"), encryption_key=ENCRYPTION_KEY)
    # The saved connection is one row per database, followed by every server on it.
    _forget_connection(dsn)
    with live_server(settings, dsn) as url:
        yield url
    _forget_connection(dsn)


@pytest.fixture
def home_context(home_web_url: str, browser: Browser) -> Iterator[BrowserContext]:
    with browsing(browser, home_web_url, timeout_ms=15_000) as ctx:  # status every 5 s
        yield ctx


def sign_in(page: Page, account: Account) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Chat")).to_be_visible()


def entities(admin: Account) -> dict[str, dict[str, Any]]:
    response = admin.client.get("/api/admin/home/entities", headers=admin.auth)
    assert response.status_code == 200, response.text
    return {e["entity_id"]: e for e in response.json()}


def test_an_admin_connects_home_assistant_and_chooses_what_butler_may_use(
    home_web_url: str,
    home_context: BrowserContext,
    home_assistant: FakeHomeAssistant,
    dsn: str,
) -> None:
    admin = register(home_web_url, dsn, Role.ADMIN)
    member = register(home_web_url, dsn)
    page = home_context.new_page()
    console = ConsoleLog(page)
    try:
        sign_in(page, admin)
        page.get_by_role("link", name="Home").click()
        expect(page.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
        connection = page.get_by_role("region", name="Connection")
        devices = page.get_by_role("region", name="Devices")
        expect(connection.get_by_role("status")).to_have_text("Home Assistant is not connected.")
        expect(devices).to_contain_text("Connect Home Assistant first")

        # A wrong token: the test says Home Assistant refused it, and nothing is saved.
        address = connection.get_by_label("Home Assistant's address")
        expect(address).to_have_attribute("placeholder", "http://homeassistant.local:8123")
        address.fill(home_assistant.url)
        token = connection.get_by_label("Long-lived access token")
        expect(token).to_have_attribute("type", "password")
        token.fill("not-the-token")
        connection.get_by_role("button", name="Test connection").click()
        result = connection.locator("[aria-live=polite]")
        expect(result).to_contain_text(re.compile("refused", re.IGNORECASE))
        expect(result).to_have_class("error")
        token.fill(TOKEN)
        connection.get_by_role("button", name="Test connection").click()
        expect(result).to_have_text(f"Connected: Home Assistant {VERSION}")
        saved = admin.client.get("/api/admin/home/connection", headers=admin.auth).json()
        assert saved["source"] == "none" and saved["token_saved"] is False

        connection.get_by_role("button", name="Save").click()
        expect(connection.get_by_text("Saved.", exact=True)).to_be_visible()
        expect(token).to_have_value("")
        expect(connection).to_contain_text("A token is saved; leave empty to keep it.")
        expect(connection.get_by_role("status").first).to_have_text(
            f"Connected to Home Assistant {VERSION} at {home_assistant.url} — "
            f"{len(home_assistant.house.entities)} devices."
        )
        assert TOKEN not in page.content()

        # The devices, by area, with the kinds that need a yes asked first.
        expect(devices.locator("h3")).to_have_text(AREAS)
        hall = devices.get_by_role("region", name="Hall", exact=True)
        expect(hall).to_contain_text("1 of 2 available to Butler")  # the camera stays hidden
        expect(hall.get_by_role("switch", name="Butler may use Porch Camera")).not_to_be_checked()
        expect(hall.get_by_label("Ask first before using Front Door")).to_be_checked()
        expect(hall).to_contain_text("lock.front_door")
        kitchen = devices.get_by_role("region", name="Kitchen", exact=True)
        expect(kitchen).to_contain_text("3 of 3 available to Butler")

        # The filter finds by name, entity id or area.
        search = devices.get_by_label("Filter devices")
        search.fill("coffee")
        expect(devices.locator("h3")).to_have_text(["Kitchen"])
        expect(devices.locator("li.device")).to_have_count(1)
        search.fill("lock.")
        expect(devices.locator("li.device")).to_have_text([re.compile("Front Door")])
        search.fill("")
        expect(devices.locator("h3")).to_have_text(AREAS)

        # Butler may no longer use the coffee machine, and that survives a reload.
        coffee = kitchen.get_by_role("switch", name="Butler may use Coffee Machine")
        coffee.click()
        expect(coffee).not_to_be_checked()
        expect(kitchen).to_contain_text("2 of 3 available to Butler")
        reset = kitchen.get_by_role("button", name="Default settings for Coffee Machine")
        expect(reset).to_be_visible()  # the server's answer: the admin's choice
        assert entities(admin)["switch.coffee_machine"]["exposed"] is False
        page.reload()
        kitchen = page.get_by_role("region", name="Kitchen", exact=True)
        coffee = kitchen.get_by_role("switch", name="Butler may use Coffee Machine")
        expect(coffee).not_to_be_checked()
        expect(kitchen).to_contain_text("2 of 3 available to Butler")

        # A member may use everything but the locks.
        people = page.get_by_role("region", name="People's permissions")
        person = people.get_by_role("region", name=member.user["display_name"])
        expect(person).to_contain_text(
            "Everything Butler may use, in every area. Can unlock doors."
        )
        person.get_by_role("radio", name="Only these kinds").check()
        kinds = person.get_by_role("group", name="Only these kinds")
        expect(kinds.get_by_role("checkbox", name="Locks")).to_be_checked()
        kinds.get_by_role("checkbox", name="Locks").uncheck()
        expect(kinds).to_contain_text(
            f"Left out: {member.user['display_name']} cannot lock or unlock doors"
        )
        expect(person).to_contain_text("Cannot lock or unlock doors.")
        person.get_by_role("button", name="Save").click()
        expect(person.get_by_role("status")).to_have_text(
            f"Saved {member.user['display_name']}'s permissions."
        )
        granted = admin.client.get(
            f"/api/admin/users/{member.id}/home-permissions", headers=admin.auth
        ).json()
        every_kind = {e["domain"] for e in entities(admin).values()}
        assert granted == {"areas": None, "domains": sorted(every_kind - {"lock"})}

        # The page passes axe-core with devices and people listed, on a phone and a
        # desktop, in both colour schemes; it is pictured for the docs.
        assert AXE.exists(), "axe-core is missing: run `make web`"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            for scheme in ("dark", "light"):
                page.emulate_media(color_scheme=scheme)
                assert violations(page) == [], (name, scheme)
            # The connection on a desktop, the devices on a phone.
            top = "document.getElementById('home-devices').scrollIntoView()"
            page.evaluate(top if name == "phone" else "window.scrollTo(0, 0)")
            page.wait_for_timeout(300)
            page.screenshot(path=str(SCREENSHOTS / f"home-{name}.png"))

        # Back to the default for its kind: Butler may use it again.
        kitchen.get_by_role("button", name="Default settings for Coffee Machine").click()
        expect(coffee).to_be_checked()
        expect(
            kitchen.get_by_role("button", name="Default settings for Coffee Machine")
        ).to_have_count(0)
        assert entities(admin)["switch.coffee_machine"]["chosen"] is False

        # Disconnect asks first, then forgets the connection.
        connection.get_by_role("button", name="Disconnect…").click()
        connection.get_by_role("group", name="Confirm disconnecting Home Assistant").get_by_role(
            "button", name="Disconnect"
        ).click()
        expect(connection.get_by_text("Disconnected.")).to_be_visible()
        expect(connection.get_by_role("status").first).to_have_text(
            "Home Assistant is not connected."
        )
        expect(devices).to_contain_text("Connect Home Assistant first")
        assert (
            admin.client.get("/api/admin/home/connection", headers=admin.auth).json()["source"]
            == "none"
        )
        assert console.errors == [], console.errors
    finally:
        admin.client.delete("/api/admin/home/entities/switch.coffee_machine", headers=admin.auth)
        _forget_connection(dsn)


def test_a_member_has_no_home_page(
    home_web_url: str, home_context: BrowserContext, dsn: str
) -> None:
    member = register(home_web_url, dsn)
    page = home_context.new_page()
    sign_in(page, member)
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    expect(page.get_by_role("link", name="Home")).to_have_count(0)
    page.goto("/#/home")
    expect(
        page.get_by_text("Only an admin of this household can set up Home Assistant.")
    ).to_be_visible()


def test_a_connection_from_the_settings_is_shown_read_only(
    home_url: str, browser: Browser, home_assistant: FakeHomeAssistant, dsn: str
) -> None:
    admin = register(home_url, dsn, Role.ADMIN)
    context = browser.new_context(base_url=home_url, viewport=DESKTOP)
    try:
        page = context.new_page()
        sign_in(page, admin)
        page.goto("/#/home")
        connection = page.get_by_role("region", name="Connection")
        expect(connection.get_by_role("status")).to_contain_text(
            f"Connected to Home Assistant {VERSION} at {home_assistant.url}"
        )
        address = connection.get_by_label("Home Assistant's address")
        expect(address).to_have_value(home_assistant.url)
        expect(address).to_have_attribute("readonly", "")
        expect(connection).to_contain_text("set in the server's configuration")
        expect(connection.get_by_label("Long-lived access token")).to_have_count(0)
        expect(connection.get_by_role("button")).to_have_count(0)  # no save, no disconnect
        devices = page.get_by_role("region", name="Devices")
        expect(devices.locator("h3")).to_have_text(AREAS)
    finally:
        context.close()
