"""The voice button's honest failure, installability, offline use, and the screenshots."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.e2e.conftest import DESKTOP, LAUNCH, PHONE, SCREENSHOTS, ConsoleLog
from tests.e2e.test_web_app import last_reply, send, sign_out, sign_up
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import live_server, make_settings, register


@pytest.fixture(scope="module")
def no_voice_url(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Butler whose LiveKit server does not answer."""
    with live_server(make_settings(tmp_path_factory.mktemp("no-voice")), dsn) as url:
        yield url


def test_without_a_voice_server_a_member_sees_a_plain_sentence_and_no_microphone(
    browser: Browser, no_voice_url: str, dsn: str
):
    context = browser.new_context(base_url=no_voice_url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    console = ConsoleLog(page)
    sign_up(page, dsn)
    with page.expect_response("**/api/auth/voice") as asked:
        page.get_by_role("link", name="Voice").click()
    assert asked.value.json()["available"] is False
    unavailable = page.get_by_test_id("voice-unavailable")
    expect(unavailable).to_contain_text("Voice isn't working on this Butler right now")
    expect(unavailable).not_to_contain_text("BUTLER_")
    expect(page.get_by_test_id("voice-fix")).to_have_count(0)  # the fix is for admins
    expect(page.get_by_role("button", name="Talk to Butler")).to_have_count(0)
    assert console.errors == [], console.errors
    context.close()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_app_is_installable(web_url: str, playwright: Playwright, tmp_path: Path):
    # A persistent profile: Chromium never offers to install from an incognito one.
    context = playwright.chromium.launch_persistent_context(
        tmp_path / "profile", base_url=web_url, **LAUNCH
    )
    try:
        _check_installable(context.new_page(), web_url)
    finally:
        context.close()


def _check_installable(page: Page, web_url: str) -> None:
    manifest_response = page.request.get("/manifest.webmanifest")
    assert manifest_response.ok
    manifest = manifest_response.json()
    assert manifest["name"] == "Butler"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    sizes = set()
    for icon in manifest["icons"]:
        image = page.request.get(icon["src"])
        assert image.ok, icon["src"]
        width, height = _png_size(image.body())
        assert f"{width}x{height}" == icon["sizes"]
        sizes.add((width, icon.get("purpose", "any")))
    assert {(192, "any"), (512, "any"), (512, "maskable")} <= sizes

    page.goto("/")
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == web_url + "/"
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors


def test_offline_the_shell_still_opens_and_says_so(page: Page, context: BrowserContext, dsn: str):
    sign_up(page, dsn)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # now the service worker controls the page
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.reload()
    expect(page.get_by_text("You are offline")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("cannot be reached")
    context.set_offline(False)  # back online: the app tries again by itself
    expect(page.get_by_role("link", name="Chat")).to_be_visible(timeout=10_000)
    expect(page.get_by_text("You are offline")).to_have_count(0)


def test_the_service_worker_never_caches_api_responses(page: Page, dsn: str):
    sign_up(page, dsn)
    send(page, "Hello")
    expect(last_reply(page)).to_contain_text("Certainly.")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Voice")).to_be_visible()
    page.evaluate("navigator.serviceWorker.ready")
    cached: list[str] = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) urls.push(request.url);
            }
            return urls;
        }"""
    )
    assert any(url.endswith("/index.html") or "index.html" in url for url in cached), cached
    assert not [url for url in cached if "/api/" in url or "healthz" in url]
    headers = page.request.get("/api/users/voices").headers
    assert headers["cache-control"] == "no-store"


def test_screenshots_of_each_screen(
    context: BrowserContext, web_url: str, dsn: str, wire: AnthropicWire
):
    """Phone and desktop screenshots of every screen, kept in docs/screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    register(web_url, dsn)  # someone has an account: the app opens on "Sign in"
    page = context.new_page()
    taken: list[Path] = []

    def shoot(name: str) -> None:
        page.wait_for_timeout(300)  # let the last repaint land
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        taken.append(path)

    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.goto("/")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        shoot(f"sign-in-{size_name}")
        sign_up(page, dsn)
        wire.play(
            Reply.use_tools(("slow_lookup", {"item": "calendar"})),
            Reply.say(
                "The calendar is clear until six. Two more things for today:\n\n"
                "- **18:00** call Mum\n- Bins go out tonight\n\nAnything else?"
            ),
        )
        send(page, "What's left for today?")
        expect(last_reply(page)).to_contain_text("Anything else?")
        shoot(f"chat-{size_name}")
        page.get_by_role("link", name="Voice").click()
        expect(page.get_by_role("button", name="Talk to Butler")).to_be_visible()
        shoot(f"voice-{size_name}")
        page.get_by_role("link", name="Memory").click()
        page.get_by_label("Something to remember").fill("Mia starts school in September")
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_role("list", name="Memories")).to_be_visible()
        shoot(f"memory-{size_name}")
        page.get_by_role("link", name="Settings").click()
        expect(page.get_by_label("Voice")).to_be_visible()
        shoot(f"settings-{size_name}")
        sign_out(page)

    for path in taken:
        width, _ = _png_size(path.read_bytes())
        assert width == (PHONE if "phone" in path.name else DESKTOP)["width"], path
