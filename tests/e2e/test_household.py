"""The Household page: an admin invites someone with a link and a QR code (the code never
cut off on a phone), the invited person opens the link and has an account, the admin
changes their role, hands them a one-time password reset link that works, and removes
them after a confirmation; a member never sees the page. Real Chromium, the real API."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from butler.users.models import Role
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, browsing
from tests.e2e.test_web_app import sign_up
from tests.support import unique_name

NEW_PASSWORD = "the kettle sings at seven"


def _register_from(page: Page, link: str, name: str) -> str:
    username = unique_name("kin")
    page.goto(link)
    expect(page.get_by_role("tab", name="Create account")).to_have_attribute(
        "aria-selected", "true"
    )
    page.get_by_label("Username").fill(username)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("link", name="Chat")).to_be_visible()
    return username


def test_an_admin_invites_manages_and_removes_a_member(
    browser: Browser, web_url: str, dsn: str
) -> None:
    with browsing(browser, web_url) as admin_context, browsing(browser, web_url) as phone:
        admin = admin_context.new_page()
        sign_up(admin, dsn, name="Margaret", role=Role.ADMIN)
        admin.set_viewport_size(PHONE)
        admin.get_by_role("link", name="Household").click()
        checks = admin.get_by_role("region", name="Is everything working?")
        expect(checks).to_contain_text("Language model: working")
        expect(checks).to_contain_text("Home Assistant: working")
        admin.get_by_label("Valid for").select_option("1")
        admin.get_by_role("button", name="Create invite link").click()
        invite = admin.get_by_label("Invite link", exact=True)
        expect(invite.get_by_role("img", name="QR code of the invite link")).to_be_visible()
        expect(invite).to_contain_text("It works once, until")
        code = admin.locator(".code code")
        expect(code).to_be_visible()
        assert code.evaluate("c => c.scrollWidth <= c.parentElement.clientWidth + 1")
        link = invite.get_by_role("link").get_attribute("href")
        assert link and f"/?invite={code.inner_text()}" in link
        waiting = admin.get_by_role("list", name="Invites not used yet")
        expect(waiting.get_by_role("listitem").filter(has_text="by Margaret")).to_have_count(1)
        admin.screenshot(path=str(SCREENSHOTS / "household-phone.png"))

        joiner = phone.new_page()
        username = _register_from(joiner, link, "Tom")
        expect(joiner.get_by_role("link", name="Household")).to_have_count(0)

        admin.set_viewport_size(DESKTOP)
        admin.reload()
        # Used: no longer waiting. A second one, sent to the wrong person, is revoked.
        expect(waiting.get_by_role("listitem").filter(has_text="by Margaret")).to_have_count(0)
        admin.get_by_role("button", name="Create invite link").click()
        wrong = waiting.get_by_role("listitem").filter(has_text="by Margaret")
        expect(wrong).to_have_count(1)
        wrong.get_by_role("button", name=re.compile("^Revoke member invite by Margaret")).click()
        expect(admin.get_by_role("status")).to_have_text(
            "Invite revoked: its link no longer works."
        )
        expect(wrong).to_have_count(0)
        expect(admin.get_by_label("Invite link", exact=True)).to_have_count(0)
        tom = admin.get_by_role("listitem").filter(has_text=username)
        expect(tom).to_contain_text("Tom")
        tom.get_by_label("Role of Tom").select_option("admin")
        expect(admin.get_by_role("status")).to_have_text("Tom is now an admin.")
        tom.get_by_label("Role of Tom").select_option("member")
        expect(admin.get_by_role("status")).to_have_text("Tom is now a member.")

        tom.get_by_role("button", name="Reset password").click()
        reset = tom.get_by_label("Password reset link for Tom", exact=True)
        expect(
            reset.get_by_role("img", name="QR code of the password reset link for tom")
        ).to_be_visible()
        reset_link = reset.get_by_role("link").get_attribute("href")
        assert reset_link and "/?reset=" in reset_link
        admin.screenshot(path=str(SCREENSHOTS / "household-desktop.png"))

        # Tom forgot his password: on a new phone, the link sets a new one and signs him in.
        with browsing(browser, web_url) as new_phone:
            tom_again = new_phone.new_page()
            tom_again.goto(reset_link)
            heading = tom_again.get_by_role("heading", name="Choose a new password")
            expect(heading).to_be_visible()
            tom_again.get_by_role("textbox", name=re.compile("^New password")).fill(NEW_PASSWORD)
            tom_again.get_by_role("button", name="Set password and sign in").click()
            expect(tom_again.get_by_role("link", name="Chat")).to_be_visible()

        tom.get_by_role("button", name="Remove…").click()
        tom.get_by_role("button", name="Cancel").click()
        expect(tom).to_be_visible()
        tom.get_by_role("button", name="Remove…").click()
        tom.get_by_role("button", name="Remove", exact=True).click()
        expect(admin.get_by_role("status")).to_have_text("Tom was removed.")
        expect(admin.get_by_role("listitem").filter(has_text=username)).to_have_count(0)
