"""The Tools page end to end: an admin sees the MCP servers from Butler's settings (one
connected, one that cannot start), is told what is wrong with a name before the server has
to refuse it, adds an HTTP MCP server and watches it connect with its tools, and removes it
after a confirmation; a member never sees the page, and the API gives them nothing. Real
Chromium, the real API, real MCP servers (the official SDK) over stdio and streamable HTTP
on 127.0.0.1."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Request, expect

from butler.config import McpServerConfig, McpSettings
from butler.users.models import Role
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, ConsoleLog, browsing
from tests.e2e.test_accessibility import violations
from tests.e2e.test_home_admin import sign_in
from tests.fakes.mcp_server import serving_http
from tests.support import Account, live_server, make_settings, register, run

STDIO_SERVER = str(Path(__file__).resolve().parents[1] / "fakes" / "mcp_server.py")
LIST = "/api/admin/mcp/servers"
REFRESH_SECONDS = 3  # web/src/tools/model.ts REFRESH_MS
CONNECTING_MS = 20_000  # a stdio server starts a Python process


def tool_names(server: str) -> list[str]:
    """The fake MCP server's tools as the model sees them, by name."""
    return [f"mcp_{server}__{tool}" for tool in ("add", "broken", "shopping_list", "slow")]


def tools_of(server: str) -> str:
    *first, last = tool_names(server)
    return f"4 tools: {', '.join(first)} and {last}."


def _forget_saved_servers(dsn: str) -> None:
    async def clear(conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM butler.mcp_servers")

    run(clear, dsn)


@pytest.fixture(scope="module")
def http_mcp() -> Iterator[str]:
    with serving_http() as url:
        yield url


@pytest.fixture(scope="module")
def tools_web_url(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with two MCP servers in its settings: one that works, one that cannot start."""
    settings = make_settings(tmp_path_factory.mktemp("tools-web"))
    settings.mcp = McpSettings(
        servers=[
            McpServerConfig(
                name="pantry", command=sys.executable, args=[STDIO_SERVER], people="everyone"
            ),
            McpServerConfig(name="gone", command="/nonexistent/mcp-server"),
        ]
    )
    # The servers added in the app are rows of the database, followed by every server on it.
    _forget_saved_servers(dsn)
    with live_server(settings, dsn) as url:
        yield url
    _forget_saved_servers(dsn)


@pytest.fixture
def tools_context(tools_web_url: str, browser: Browser) -> Iterator[BrowserContext]:
    with browsing(browser, tools_web_url) as ctx:
        yield ctx


def servers(admin: Account) -> dict[str, dict[str, Any]]:
    response = admin.client.get(LIST, headers=admin.auth)
    assert response.status_code == 200, response.text
    return {s["name"]: s for s in response.json()["servers"]}


def test_an_admin_sees_the_servers_adds_an_http_one_and_removes_it(
    tools_web_url: str, tools_context: BrowserContext, http_mcp: str, dsn: str
) -> None:
    admin = register(tools_web_url, dsn, Role.ADMIN)
    page = tools_context.new_page()
    console = ConsoleLog(page)
    sign_in(page, admin)
    # Next to Home, for an admin.
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        [
            "Chat",
            "Voice",
            "Reminders",
            "Memory",
            "Home",
            "Tools",
            "Household",
            "Latency",
            "Settings",
        ]
    )
    page.get_by_role("link", name="Tools").click()
    expect(page.get_by_role("link", name="Tools")).to_have_attribute("aria-current", "page")
    listed = page.get_by_role("region", name="MCP servers")

    # The settings' servers, read-only: no Remove; one connected with its tools, one failed.
    expect(listed.get_by_role("heading", level=3)).to_have_text(["gone", "pantry"])
    pantry = listed.get_by_role("region", name="pantry")
    expect(pantry.get_by_role("status")).to_have_text("Connected.", timeout=CONNECTING_MS)
    expect(pantry).to_contain_text(tools_of("pantry"))
    expect(pantry).to_contain_text(f"{sys.executable} {STDIO_SERVER}")
    expect(pantry).to_contain_text("stdio: a command Butler runs on its machine")
    expect(pantry).to_contain_text("Butler's settings: read-only here")
    expect(pantry).to_contain_text("Everyone in the household")
    gone = listed.get_by_role("region", name="gone")
    expect(gone.get_by_role("status")).to_have_text(
        re.compile(r"^Failed: FileNotFoundError: .+\. Butler keeps trying\.$")
    )
    expect(gone).to_contain_text("/nonexistent/mcp-server")
    expect(gone).to_contain_text("Admins only")
    expect(gone).to_contain_text("Listed once it is connected.")
    expect(listed.get_by_role("button")).to_have_count(0)

    # A name the server would refuse, and one its settings hold: said on the field, with
    # nothing sent.
    form = page.get_by_role("form", name="Add an HTTP server")
    name = form.get_by_label("Name")
    address = form.get_by_label("Address")
    expect(address).to_have_attribute("placeholder", "http://127.0.0.1:9000/mcp")
    expect(form.get_by_role("radio", name="Admins only")).to_be_checked()
    expect(form.get_by_role("group", name="Who may use its tools")).to_have_accessible_description(
        re.compile("Its tools act with Butler's rights, not the person's")
    )
    puts: list[Request] = []
    page.on("request", lambda r: puts.append(r) if r.method == "PUT" else None)
    name.fill("Kitchen tools")
    address.fill("kitchen.local/mcp")
    form.get_by_role("button", name="Add server").click()
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(
        re.compile("Start the name with a lower-case letter.$")
    )
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_have_accessible_description(
        "Give an http or https address, like http://127.0.0.1:9000/mcp"
    )
    name.fill("pantry")
    expect(name).not_to_have_attribute("aria-invalid", "true")  # typing takes the mark away
    address.fill(http_mcp)
    form.get_by_role("button", name="Add server").click()
    expect(name).to_have_accessible_description(
        re.compile("“pantry” is set in Butler's settings: choose another name.$")
    )
    expect(address).not_to_have_attribute("aria-invalid", "true")
    assert puts == []

    # Added for everyone: it connects while the page is open, and its tools are listed.
    name.fill("kitchen")
    form.get_by_role("radio", name="Everyone in the household").check()
    form.get_by_role("button", name="Add server").click()
    expect(form.get_by_role("status")).to_have_text("Added kitchen: its state is in the list.")
    expect(name).to_have_value("")
    expect(form.get_by_role("radio", name="Admins only")).to_be_checked()
    kitchen = listed.get_by_role("region", name="kitchen")
    expect(kitchen.get_by_role("status")).to_have_text("Connected.", timeout=CONNECTING_MS)
    expect(kitchen).to_contain_text(tools_of("kitchen"))
    expect(kitchen).to_contain_text(http_mcp)
    expect(kitchen).to_contain_text("Streamable HTTP")
    expect(kitchen).to_contain_text("Added on this page")
    expect(kitchen).to_contain_text("Everyone in the household")
    expect(listed.get_by_role("heading", level=3)).to_have_text(["gone", "pantry", "kitchen"])
    saved = servers(admin)["kitchen"]
    assert (saved["address"], saved["people"], saved["source"]) == (http_mcp, "everyone", "app")
    assert sorted(saved["tools"]) == tool_names("kitchen")
    # Its name again: the form says that adding would replace it, before anything is sent.
    name.fill("kitchen")
    expect(name).to_have_accessible_description(
        re.compile("“kitchen” is already added: adding it again replaces its address")
    )
    name.fill("")
    assert len(puts) == 1
    # The list keeps being asked for while the page is open.
    with page.expect_response(
        lambda r: r.url.endswith(LIST) and r.request.method == "GET",
        timeout=(REFRESH_SECONDS + 2) * 1000,
    ):
        pass

    # The page passes axe-core with every kind of server listed, and is pictured for the docs.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        for scheme in ("dark", "light"):
            page.emulate_media(color_scheme=scheme)
            assert violations(page) == [], (size_name, scheme)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"tools-{size_name}.png"))

    # Removing asks first; cancelling puts the keyboard back on Remove.
    kitchen.get_by_role("button", name="Remove kitchen").click()
    confirm = kitchen.get_by_role("group", name="Confirm removing kitchen")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    expect(kitchen.get_by_role("button", name="Remove kitchen")).to_be_focused()
    assert "kitchen" in servers(admin)
    kitchen.get_by_role("button", name="Remove kitchen").click()
    confirm.get_by_role("button", name="Remove", exact=True).click()
    expect(listed.get_by_role("status").first).to_have_text(
        "Removed kitchen. Butler no longer offers its tools."
    )
    expect(kitchen).to_have_count(0)
    expect(listed.get_by_role("heading", name="MCP servers")).to_be_focused()
    assert "kitchen" not in servers(admin)
    assert console.errors == [], console.errors


def test_a_member_has_no_tools_page_and_the_api_gives_them_nothing(
    tools_web_url: str, tools_context: BrowserContext, dsn: str, http_mcp: str
) -> None:
    member = register(tools_web_url, dsn)
    page = tools_context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/admin/" in r.url else None)
    sign_in(page, member)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Chat", "Voice", "Reminders", "Memory", "Settings"]
    )
    page.goto("/#/tools")
    expect(
        page.get_by_text("Only an admin of this household can choose Butler's tools.")
    ).to_be_visible()
    expect(page.get_by_role("region", name="MCP servers")).to_have_count(0)
    assert asked == []

    listing = member.client.get(LIST, headers=member.auth)
    assert listing.status_code == 403
    assert "pantry" not in listing.text
    added = member.client.put(f"{LIST}/kitchen", json={"url": http_mcp}, headers=member.auth)
    assert added.status_code == 403
    removed = member.client.delete(f"{LIST}/kitchen", headers=member.auth)
    assert removed.status_code == 403
    admin = register(tools_web_url, dsn, Role.ADMIN)
    assert set(servers(admin)) == {"gone", "pantry"}
