"""The API reference at /docs, as an admin opens it: Swagger UI bundled with the app
renders every operation with nothing fetched from another origin and nothing refused by
the app's CSP; a member is told it is for admins. Production mode, where the OpenAPI
document itself is for admins only."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from butler.config import Mode
from butler.users.models import Role
from tests.e2e.conftest import ConsoleLog, browsing
from tests.e2e.test_home_admin import sign_in
from tests.support import live_server, make_settings, register


@pytest.fixture(scope="module")
def production_url(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Plain-HTTP loopback in the test, so the session cookie may not be Secure-only.
    settings = make_settings(tmp_path_factory.mktemp("docs"), cookie_secure=False)
    settings.mode = Mode.PRODUCTION
    with live_server(settings, dsn) as url:
        yield url


def _other_origins(page: Page, base_url: str) -> list[str]:
    ours = urlsplit(base_url).netloc
    requested: list[str] = []
    page.on(
        "request",
        lambda request: (
            requested.append(request.url)
            if urlsplit(request.url).netloc not in ("", ours)
            and not request.url.startswith("data:")
            else None
        ),
    )
    return requested


def test_an_admin_reads_the_api_reference_served_by_butler_itself(
    browser: Browser, production_url: str, dsn: str
) -> None:
    admin = register(production_url, dsn, Role.ADMIN)
    with browsing(browser, production_url) as context:
        page = context.new_page()
        console = ConsoleLog(page)
        elsewhere = _other_origins(page, production_url)
        sign_in(page, admin)
        page.goto("/docs")
        expect(page.get_by_role("heading", name="Butler API")).to_be_visible()
        expect(page.locator("#operations-chat-chat_api_chat_post")).to_be_visible()
        assert page.get_by_role("button", name="Try it out").count() == 0
        assert elsewhere == [], elsewhere
        assert console.errors == [], console.errors


def test_a_member_is_told_the_reference_is_for_admins(
    browser: Browser, production_url: str, dsn: str
) -> None:
    member = register(production_url, dsn)
    with browsing(browser, production_url) as context:
        page = context.new_page()
        sign_in(page, member)
        page.goto("/docs")
        expect(page.get_by_role("status")).to_have_text(
            "Butler's API reference is for its admins. Sign in to Butler as an admin, "
            "then reload this page."
        )
        expect(page.locator("#docs .swagger-ui")).to_have_count(0)
