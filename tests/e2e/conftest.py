"""The web app in Debian's Chromium (driven by Playwright) against a real `butler serve`
stack: embedded PostgreSQL, the built app at /, Claude's wire format on 127.0.0.1, and
the real LiveKit server (no voice worker: tests/stack talks to one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    sync_playwright,
)

from butler.api.web import SOURCE_TREE_WEB_DIR
from tests.fakes.tools import TEST_TOOLS
from tests.fakes.wire import AnthropicWire
from tests.livekit_server import LiveKitServer
from tests.support import (
    claude_at,
    live_server,
    make_settings,
)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Without these, Chromium keeps trying to reach Google's services from a closed network.
_QUIET = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A fake microphone that is always allowed: the voice screen's own checks run for real.
_FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="session")
def web_url(
    dsn: str,
    anthropic_wire: AnthropicWire,
    livekit: LiveKitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    if not (SOURCE_TREE_WEB_DIR / "index.html").is_file():
        pytest.fail("the web app is not built: run `make web` (make test does it first)")
    settings = make_settings(
        tmp_path_factory.mktemp("web"),
        llm=claude_at(anthropic_wire.base_url, timeout_seconds=5.0),
        livekit=livekit.settings,
    )
    with live_server(settings, dsn, extra_tools=TEST_TOOLS) as url:
        yield url


LAUNCH: dict[str, Any] = {
    "executable_path": str(CHROMIUM),
    "headless": True,
    "args": [*_QUIET, *_FAKE_MEDIA],
}


# Playwright's sync API keeps an event loop running in the test thread while it is open,
# and no other test may call asyncio.run() then: it lives for one module at a time.
@pytest.fixture(scope="module")
def playwright(web_url: str) -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make system-deps` installs it")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(**LAUNCH)
    yield launched
    launched.close()


class ConsoleLog:
    """Every console error and uncaught exception of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"{message.text} [{where}]" if where else message.text)


@contextmanager
def browsing(
    browser: Browser, base_url: str, timeout_ms: float = 10_000
) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies, no storage) on a desktop-sized window."""
    ctx = browser.new_context(base_url=base_url, viewport=DESKTOP)
    ctx.set_default_timeout(timeout_ms)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def context(web_url: str, browser: Browser) -> Iterator[BrowserContext]:
    with browsing(browser, web_url) as ctx:
        yield ctx


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def console(page: Page) -> ConsoleLog:
    return ConsoleLog(page)
