"""The Latency page: an admin sees end of speech → first audio per day (p50 and p95) and
each stage, and a waterfall of one chosen turn, at phone and desktop size; a member never
sees the page."""

from __future__ import annotations

import asyncpg
from playwright.sync_api import Browser, expect

from butler.users.models import Role
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, browsing
from tests.e2e.test_web_app import sign_up
from tests.integration.test_latency_report import store_turns
from tests.support import run


def test_an_admin_sees_how_fast_butler_answers(browser: Browser, web_url: str, dsn: str) -> None:
    with browsing(browser, web_url) as context:
        page = context.new_page()
        username = sign_up(page, dsn, name="Margaret", role=Role.ADMIN)

        async def user_id(conn: asyncpg.Connection) -> object:
            return await conn.fetchval("SELECT id FROM butler.users WHERE username = $1", username)

        store_turns(
            dsn,
            run(user_id, dsn),  # type: ignore[arg-type]
            [(0, 600, False), (0, 640, False), (1, 820, False), (1, 700, True)],
        )
        for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.get_by_role("link", name="Latency").click()
            days = page.get_by_role("list", name="Days").get_by_role("listitem")
            expect(days).to_have_count(2)
            expect(days.first).to_contain_text("p50 620 ms")
            expect(days.nth(1)).to_contain_text("1 turn")
            expect(page.get_by_role("table")).to_contain_text("Model's first words")
            page.locator(".latency select").select_option(index=3)
            waterfall = page.get_by_role("figure", name="Stages of this turn")
            expect(waterfall).to_contain_text("End of speech → first audio")
            expect(waterfall).to_contain_text("820 ms")
            page.wait_for_timeout(300)
            page.screenshot(path=str(SCREENSHOTS / f"latency-{size_name}.png"), full_page=True)
            page.get_by_role("link", name="Chat").click()


def test_a_member_has_no_latency_page(browser: Browser, web_url: str, dsn: str) -> None:
    with browsing(browser, web_url) as context:
        page = context.new_page()
        sign_up(page, dsn)
        expect(page.get_by_role("link", name="Latency")).to_have_count(0)
        page.goto("/#/latency")
        expect(page.get_by_text("Only an admin of this household")).to_be_visible()
