"""A first visit and an unreliable connection: a fresh install opens on creating the first
account with the rules shown before anyone types; a reload while offline recovers by
itself when the connection returns, under the butler's own name; the installed app may
turn with the device."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from butler.db import migrate
from butler.db.embedded import EmbeddedPostgres
from tests.e2e.conftest import browsing
from tests.e2e.test_web_app import sign_up
from tests.support import Account, live_server, make_settings


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Butler on a database of its own, where nobody has an account yet."""
    folder: Path = tmp_path_factory.mktemp("fresh-install")
    with EmbeddedPostgres(folder / "data") as postgres:
        # Alembic runs its own event loop: not in this thread, where Playwright's runs.
        with ThreadPoolExecutor(max_workers=1) as worker:
            worker.submit(migrate.upgrade, postgres.dsn).result()
        with live_server(make_settings(folder / "settings"), postgres.dsn) as url:
            yield url


def test_a_fresh_install_opens_on_creating_the_first_account(
    browser: Browser, fresh_install: str
) -> None:
    with browsing(browser, fresh_install) as context:
        page = context.new_page()
        page.goto("/")
        expect(page.get_by_role("tab", name="Create account")).to_have_attribute(
            "aria-selected", "true"
        )
        expect(page.get_by_role("note")).to_contain_text("Nobody has an account yet")
        # The rules are there before a failed attempt, and read as text, not markup.
        expect(page.get_by_text("3 to 32 characters")).to_be_visible()
        expect(page.get_by_text("At least 10 characters")).to_be_visible()
        hint = page.locator("p.hint").last
        expect(hint.locator("code")).to_have_text("butler invite")
        assert "`" not in hint.inner_text()


def test_a_returning_person_sees_sign_in_first(
    page: Page, new_account: Callable[..., Account]
) -> None:
    new_account()  # the household has someone
    page.goto("/")
    expect(page.get_by_role("tab", name="Sign in")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("note")).to_have_count(0)


def _controlled_by_the_service_worker(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def test_opened_offline_it_recovers_when_the_connection_returns(
    context: BrowserContext, page: Page, dsn: str
) -> None:
    sign_up(page, dsn)
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Butler's name").fill("Jeeves")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Jeeves")).to_be_visible()
    _controlled_by_the_service_worker(page)

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("cannot be reached")
    expect(page.locator(".offline-banner")).to_have_text(
        "You are offline. Jeeves will answer again when the connection is back."
    )
    context.set_offline(False)
    expect(page.get_by_role("heading", name="Jeeves")).to_be_visible(timeout=10_000)
    expect(page.locator(".offline-banner")).to_have_count(0)


def test_the_installed_app_turns_with_the_device(page: Page) -> None:
    manifest = page.request.get("/manifest.webmanifest").json()
    assert manifest.get("orientation", "any") == "any"
