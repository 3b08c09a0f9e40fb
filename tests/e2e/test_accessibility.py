"""Every screen passes axe-core's WCAG 2 A/AA rules (labels, contrast, roles, names), on a
phone and a desktop, in light and dark colour schemes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from butler.users.models import Role
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_web_app import last_reply, send, sign_up
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import register

AXE = Path(__file__).parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def violations(page: Page) -> list[str]:
    # Evaluated by the test, not added as an inline <script> (which the app's Content
    # Security Policy rightly refuses); axe then lives on `window` like any script's.
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(f"() => {{ {AXE.read_text()}\n; window.axe = axe; }}")
    result: dict[str, Any] = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"""
    )
    return [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in result["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_screen_meets_wcag_aa(
    browser: Browser, web_url: str, dsn: str, wire: AnthropicWire, scheme: str
) -> None:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make web` (npm ci in web/)")
    register(web_url, dsn)  # someone has an account: the app opens on "Sign in"
    for size in (PHONE, DESKTOP):
        context = browser.new_context(base_url=web_url, viewport=size, color_scheme=scheme)
        page = context.new_page()
        try:
            page.goto("/")
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            assert violations(page) == [], "sign-in"
            sign_up(page, dsn, role=Role.ADMIN)  # an admin also has Home and Tools
            wire.play(
                Reply.say("Here is a list:\n\n- one\n- **two**\n\n[a link](https://example.org)")
            )
            send(page, "Show me a list")
            expect(last_reply(page)).to_contain_text("two")
            assert violations(page) == [], "chat"
            for screen, ready in (
                ("Voice", "Talk to Butler"),
                ("Reminders", "Add reminder"),
                ("Memory", "Add"),
                ("Home", "Test connection"),  # Home Assistant not connected yet
                ("Tools", "Add server"),
                ("Household", "Create invite link"),
                ("Latency", None),
                ("Settings", "Save place"),
            ):
                link = page.get_by_role("link", name=screen)
                link.click()
                # The screen has changed (the Home page also has a "Save" button).
                expect(link).to_have_attribute("aria-current", "page")
                if ready is None:
                    expect(page.get_by_role("region", name=screen)).to_be_visible()
                else:
                    expect(page.get_by_role("button", name=ready)).to_be_visible()
                assert violations(page) == [], screen
        finally:
            context.close()
