"""Too many wrong passwords: the sign-in form counts the wait down second by second
(from the server's Retry-After), keeps the button disabled until it is over, and then
the right password signs in. Real Chromium, the real API with a short window."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import browsing
from tests.support import PASSWORD, live_server, make_settings, register

WINDOW_SECONDS = 6


@pytest.fixture(scope="module")
def strict_url(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("sign-in-wait"),
        rate_limit_per_username=2,
        rate_limit_window_seconds=WINDOW_SECONDS,
    )
    with live_server(settings, dsn) as url:
        yield url


def _seconds_shown(text: str) -> int:
    match = re.search(r"try again in (\d+) second", text)
    assert match, text
    return int(match.group(1))


def test_the_wait_counts_down_and_then_signing_in_works(
    browser: Browser, strict_url: str, dsn: str
) -> None:
    person = register(strict_url, dsn)
    with browsing(browser, strict_url) as context:
        page = context.new_page()
        page.goto("/")
        page.get_by_label("Username").fill(person.username)
        page.get_by_label("Password").fill("not the password")
        button = page.get_by_role("button", name="Sign in", exact=True)
        for _ in range(2):
            button.click()
            expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        button.click()
        wait = page.get_by_role("status")
        expect(wait).to_contain_text("Too many attempts. You can try again in")
        expect(button).to_be_disabled()
        first = _seconds_shown(wait.inner_text())
        assert 1 <= first <= WINDOW_SECONDS
        started = time.monotonic()
        # The number goes down while the page sits there.
        expect(wait).not_to_contain_text(f"in {first} second", timeout=3_000)
        later = _seconds_shown(wait.inner_text()) if "again in" in wait.inner_text() else 0
        assert later < first
        expect(wait).to_have_text("You can try again now.", timeout=(WINDOW_SECONDS + 2) * 1000)
        assert time.monotonic() - started <= first + 1.5
        expect(button).to_be_enabled()
        page.get_by_label("Password").fill(PASSWORD)
        button.click()
        expect(page.get_by_role("link", name="Chat")).to_be_visible()
