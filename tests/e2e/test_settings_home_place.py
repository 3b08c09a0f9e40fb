"""The home place in Settings end to end: a person sets where they live by a town's name
(the server looks it up on the local Open-Meteo), is told why a name it cannot find or a
lookup service that is down is refused, right next to the field, and clears it again.
Real Chromium, the real API, Open-Meteo's geocoding on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, ConsoleLog, browsing
from tests.e2e.test_accessibility import violations
from tests.e2e.test_home_admin import sign_in
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.support import Account, live_server, make_settings, register

LEEDS = "Leeds, England, United Kingdom"


@pytest.fixture(scope="module")
def open_meteo() -> Iterator[FakeOpenMeteo]:
    with FakeOpenMeteo().running() as fake:
        yield fake


@pytest.fixture(scope="module")
def weather_web_url(
    dsn: str, open_meteo: FakeOpenMeteo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server whose Open-Meteo is the local one."""
    settings = make_settings(
        tmp_path_factory.mktemp("weather-web"),
        weather={"forecast_url": open_meteo.url, "geocoding_url": open_meteo.url},
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture
def weather_context(weather_web_url: str, browser: Browser) -> Iterator[BrowserContext]:
    with browsing(browser, weather_web_url) as ctx:
        yield ctx


def home_place(account: Account) -> Any:
    response = account.client.get("/api/users/me", headers=account.auth)
    assert response.status_code == 200, response.text
    return response.json()["home_place"]


def open_home_place(page: Page) -> Locator:
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    return page.get_by_role("form", name="Home place")


def test_a_person_sets_their_home_place_by_name_and_clears_it(
    weather_web_url: str, dsn: str, weather_context: BrowserContext, open_meteo: FakeOpenMeteo
) -> None:
    person = register(weather_web_url, dsn)
    page = weather_context.new_page()
    console = ConsoleLog(page)
    sign_in(page, person)
    form = open_home_place(page)
    field = form.get_by_label("Town or city")
    expect(form.get_by_text("Not set: Butler asks which town you mean.")).to_be_visible()
    expect(field).to_have_accessible_description(
        "Where you live, for the weather: “what's the weather?” then means there. "
        "Not set: Butler asks which town you mean."
    )
    expect(form.get_by_role("button", name="Clear")).to_have_count(0)  # nothing to clear

    # A name Open-Meteo does not know: the server's reason, on the field; nothing saved.
    field.fill("Atlantis")
    form.get_by_role("button", name="Save place").click()
    expect(form.get_by_role("alert")).to_have_text("No place called 'Atlantis' was found.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        "Where you live, for the weather: “what's the weather?” then means there. "
        "Not set: Butler asks which town you mean. No place called 'Atlantis' was found."
    )
    expect(field).to_have_value("Atlantis")
    assert home_place(person) is None
    # Typing again takes the mark away.
    field.fill("Leeds")
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_have_count(0)

    # The lookup service is down: said as plainly, on the field.
    open_meteo.failing = True
    try:
        form.get_by_role("button", name="Save place").click()
        expect(form.get_by_role("alert")).to_have_text("The weather service answered 500.")
        expect(field).to_have_attribute("aria-invalid", "true")
    finally:
        open_meteo.failing = False
    assert home_place(person) is None

    # Found: the place as Open-Meteo names it, on the page and on the server.
    form.get_by_role("button", name="Save place").click()
    expect(form.get_by_role("status")).to_have_text(f"Saved. Home is {LEEDS}.")
    expect(form.get_by_text(f"Home is {LEEDS}.", exact=True)).to_be_visible()
    expect(field).to_have_value("")
    expect(field).not_to_have_attribute("aria-invalid", "true")
    searched = [q["name"] for path, q in open_meteo.requests if path == "/v1/search"]
    assert searched[-1] == ["Leeds"]
    saved = home_place(person)
    assert saved["name"] == LEEDS
    assert (saved["latitude"], saved["longitude"]) == (53.79648, -1.54785)

    # It is the person's: it survives a reload, and another person has none.
    page.reload()
    form = open_home_place(page)
    expect(form.get_by_text(f"Home is {LEEDS}.", exact=True)).to_be_visible()
    assert home_place(register(weather_web_url, dsn)) is None

    # Saving the other settings leaves it alone.
    page.get_by_label("Butler's name").fill("Jeeves")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="The next reply")).to_be_visible()
    assert home_place(person)["name"] == LEEDS

    # The page passes axe-core with a place set and a message shown, phone and desktop.
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        for scheme in ("dark", "light"):
            page.emulate_media(color_scheme=scheme)
            assert violations(page) == [], (size, scheme)

    # Cleared: on the server too; the keyboard goes back to the field.
    form.get_by_role("button", name="Clear").click()
    expect(form.get_by_role("status")).to_have_text("Cleared. Butler asks which town you mean.")
    expect(form.get_by_text("Not set: Butler asks which town you mean.")).to_be_visible()
    expect(form.get_by_role("button", name="Clear")).to_have_count(0)
    expect(field).to_be_focused()
    assert home_place(person) is None
    # Only the two refusals' answers (422, 502) are in the console.
    assert len(console.errors) == 2, console.errors
    assert "422" in console.errors[0] and "502" in console.errors[1], console.errors
