"""The app's voice screen in Debian's Chromium, against the whole local stack that
`butler serve` runs (real LiveKit server, voice worker, local whisper and Piper): a
fake microphone plays an espeak-ng question, the butler answers, and End closes the
room. (Its own module: Playwright's sync API holds an event loop in the test thread.)"""

from __future__ import annotations

import asyncio
import os
import signal
import wave
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import api as livekit_api
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.e2e.conftest import CHROMIUM, LAUNCH, ConsoleLog
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored, wait_for
from tests.stack.conftest import LiveStack, restarted
from tests.stack.room_client import to_48k
from tests.support import PASSWORD, register
from tests.voice.conftest import Speech

# Chromium plays the file once as its microphone. Real host addresses in ICE (no mDNS
# names), and audio may play without a click (the analyser below listens to it).
_BROWSER_VOICE = [
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


def _microphone_file(folder: Path, speech: Speech, lead_seconds: float) -> Path:
    """48 kHz mono 16-bit: silence while the room connects and the butler joins (its
    first session after a start loads the speech models: seconds on a busy machine),
    the question, silence."""
    samples, rate = speech
    audio = to_48k(samples, rate)
    silence = np.zeros(int(48_000 * lead_seconds), np.int16)
    path = folder / "question.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(np.concatenate([silence, audio, silence]).tobytes())
    return path


@pytest.fixture
def browser_with_microphone(
    tmp_path: Path, speak: Callable[..., Speech]
) -> Iterator[Callable[..., Browser]]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make system-deps` installs it")
    with sync_playwright() as driver:
        browsers: list[Browser] = []

        def launch(
            question: str, extra_args: Sequence[str] = (), lead_seconds: float = 15.0
        ) -> Browser:
            wav = _microphone_file(tmp_path, speak(question), lead_seconds)
            args = [
                *LAUNCH["args"],
                *_BROWSER_VOICE,
                f"--use-file-for-fake-audio-capture={wav}%noloop",
                *extra_args,
            ]
            browser = driver.chromium.launch(**{**LAUNCH, "args": args})
            browsers.append(browser)
            return browser

        yield launch
        for browser in browsers:
            browser.close()


def _voice_screen(browser: Browser, stack: LiveStack, username: str, **options: Any) -> Page:
    """A new page of the app, signed in as `username`, on the Voice screen."""
    context = browser.new_context(base_url=stack.api_url, **options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    _sign_in(page, username)
    page.get_by_role("link", name="Voice").click()
    return page


def _sign_in(page: Page, username: str) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Chat")).to_be_visible()


# Loudness of what the page plays from the butler, measured by a WebAudio analyser on
# the audio elements LiveKit attaches.
_LOUDNESS = """() => {
  const els = [...document.querySelectorAll('audio')].filter(a => a.srcObject);
  if (!els.length) return -1;
  if (!window.__meter) {
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaStreamSource(els[0].srcObject).connect(analyser);
    window.__meter = { ctx, analyser, peak: 0 };
    const data = new Float32Array(analyser.fftSize);
    setInterval(() => {
      analyser.getFloatTimeDomainData(data);
      let sum = 0; for (const v of data) sum += v * v;
      window.__meter.peak = Math.max(window.__meter.peak, Math.sqrt(sum / data.length));
    }, 20);
  }
  return window.__meter.peak;
}"""


def _rooms(stack: LiveStack) -> set[str]:
    key, secret = _stack_keys(stack)

    async def names() -> set[str]:
        async with livekit_api.LiveKitAPI(
            f"http://127.0.0.1:{stack.livekit_port}", key, secret
        ) as client:
            listing = await client.room.list_rooms(livekit_api.ListRoomsRequest())
            return {room.name for room in listing.rooms}

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, names()).result()


def _stack_keys(stack: LiveStack) -> tuple[str, str]:
    import json

    store = json.loads((stack.data_dir / "secrets.json").read_text())
    return store["livekit.api_key"], store["livekit.api_secret"]


def test_talking_to_butler_from_the_browser(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    browser_with_microphone: Callable[..., Browser],
) -> None:
    account = register(live_stack.api_url, dsn)
    # The model takes a moment, as a real one does: the reply is often prepared before
    # the turn ends, and without it "Thinking…" can last too briefly to be seen.
    wire.default = Reply.say("The garage door is closed.", first_delay=1.5)
    # Words tiny.en hears alike on every CPU (its int8 kernels differ between them: on
    # some, "Is the garage door closed?" came out as "It's the courage to are closed.").
    browser = browser_with_microphone("What is on my calendar tomorrow?")
    page = _voice_screen(browser, live_stack, account.username)
    console = ConsoleLog(page)
    talk = page.get_by_role("button", name="Talk to Butler")
    expect(talk).to_be_enabled()  # voice was reported available
    with page.expect_response("**/api/auth/token") as token:
        talk.click()
    room = token.value.json()["room_name"]
    state = page.get_by_test_id("voice-state")
    expect(state).to_have_text("Listening", timeout=60_000)
    # The meter starts listening to the butler's track before it speaks.
    assert wait_for(lambda: page.evaluate(_LOUDNESS) >= 0, timeout=10), "no butler track"
    expect(state).to_have_text("Thinking…", timeout=30_000)
    expect(state).to_have_text("Speaking", timeout=30_000)
    transcript = page.get_by_role("log", name="Transcript")
    expect(transcript.locator("article.user")).to_contain_text("calendar", timeout=20_000)
    expect(transcript.locator("article.assistant")).to_contain_text("The garage door is closed")
    assert wait_for(lambda: page.evaluate(_LOUDNESS) > 0.01, timeout=15), "no audio played"
    expect(state).to_have_text("Listening", timeout=30_000)

    assert wait_for(lambda: len(stored(dsn, account.id)) == 2, timeout=10)
    assert stored(dsn, account.id)[1]["content"] == "The garage door is closed."

    assert room in _rooms(live_stack)
    page.get_by_role("button", name="End").click()
    expect(page.get_by_role("button", name="Talk to Butler")).to_be_visible()
    assert wait_for(lambda: room not in _rooms(live_stack), timeout=15), "the room stayed open"
    unexpected = [e for e in console.errors if "favicon" not in e]
    assert unexpected == [], unexpected
    page.context.close()


def test_a_refused_microphone_says_how_to_allow_it(live_stack: LiveStack, dsn: str) -> None:
    account = register(live_stack.api_url, dsn)
    args = [a for a in LAUNCH["args"] if a != "--use-fake-ui-for-media-stream"]
    with sync_playwright() as driver:
        browser = driver.chromium.launch(**{**LAUNCH, "args": args})
        try:
            page = _voice_screen(browser, live_stack, account.username, permissions=[])
            page.get_by_role("button", name="Talk to Butler").click()
            error = page.get_by_test_id("voice-error")
            expect(error).to_contain_text("Microphone access was refused")
            expect(error).to_contain_text("site settings")
            expect(page.get_by_role("button", name="Talk to Butler")).to_be_enabled()
        finally:
            browser.close()


def test_the_app_says_when_the_butler_is_gone_and_the_next_session_works(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    browser_with_microphone: Callable[..., Browser],
) -> None:
    account = register(live_stack.api_url, dsn)
    browser = browser_with_microphone("Hello there.")
    page = _voice_screen(browser, live_stack, account.username)
    page.get_by_role("button", name="Talk to Butler").click()
    state = page.get_by_test_id("voice-state")
    expect(state).to_have_text("Listening", timeout=60_000)

    worker = live_stack.child_pid("voice-worker")
    os.killpg(worker, signal.SIGKILL)  # the worker crashes mid-session
    expect(state).to_contain_text("The butler isn't there", timeout=40_000)
    restarted(live_stack, "voice-worker", worker)

    page.get_by_role("button", name="End").click()
    page.get_by_role("button", name="Talk to Butler").click()
    expect(state).to_have_text("Listening", timeout=60_000)
    page.context.close()


def test_the_app_reconnects_when_the_voice_server_restarts(
    live_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    browser_with_microphone: Callable[..., Browser],
) -> None:
    """The LiveKit server dies mid-session: the app says the connection dropped, and
    once the supervisor has it back, a new room (with a new butler) replaces the lost
    one, whose session ends; the person goes on talking."""
    account = register(live_stack.api_url, dsn)
    wire.default = Reply.say("The porch light is on.")
    # Chromium plays the file from its start for each capture: the question comes 10 s
    # into each room, after the server is killed in the first.
    browser = browser_with_microphone("Is the porch light on?", lead_seconds=10)
    page = _voice_screen(browser, live_stack, account.username)
    with page.expect_response("**/api/auth/token") as token:
        page.get_by_role("button", name="Talk to Butler").click()
    lost_room = token.value.json()["room_name"]
    state = page.get_by_test_id("voice-state")
    expect(state).to_have_text("Listening", timeout=60_000)

    server = live_stack.child_pid("livekit")
    with page.expect_response("**/api/auth/token", timeout=120_000) as renewed:
        os.killpg(server, signal.SIGKILL)
        expect(state).to_contain_text("Reconnecting", timeout=30_000)
        restarted(live_stack, "livekit", server)
    new_room = renewed.value.json()["room_name"]
    assert new_room != lost_room
    expect(state).to_have_text("Listening", timeout=60_000)
    transcript = page.get_by_role("log", name="Transcript")
    expect(transcript.locator("article.assistant")).to_contain_text(
        "The porch light is on", timeout=40_000
    )
    assert wait_for(lambda: len(stored(dsn, account.id)) == 2, timeout=10)
    # The lost room's session ended: its worker saw the room go (or the new room
    # replaced it), so its credential works no more.
    assert _session_end(dsn, lost_room) in {"worker_ended", "replaced"}
    page.get_by_role("button", name="End").click()
    expect(page.get_by_role("button", name="Talk to Butler")).to_be_visible()
    page.context.close()


def _session_end(dsn: str, room: str) -> str | None:
    import asyncpg
    from tests.support import run

    async def reason(conn: asyncpg.Connection) -> str | None:
        found: str | None = await conn.fetchval(
            "SELECT end_reason FROM butler.voice_sessions WHERE room_name = $1", room
        )
        return found

    return run(reason, dsn)
