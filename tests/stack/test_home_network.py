"""`butler serve --lan`: a phone on the home network opens Butler over HTTPS (a secure
context, so it gets the microphone) and talks to it, with LiveKit's signalling relayed
through Butler's origin and the media offered at the home-network address.

The "home network" is the test namespace's veth address (tests/isolated_network.sh):
an address of this machine that is not loopback, as a LAN address is."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable, Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from playwright.sync_api import Browser, expect
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored, wait_for
from tests.stack.conftest import LiveStack, stack_env, start_stack, stop_stack
from tests.stack.test_browser_voice import _LOUDNESS, _voice_screen, browser_with_microphone
from tests.support import register

__all__ = ["browser_with_microphone"]

HOME_ADDRESS = "fd00:b7::1"  # the test namespace's own non-loopback address


@pytest.fixture(scope="module")
def lan_stack(
    dsn: str, anthropic_wire: AnthropicWire, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    addresses = subprocess.run(["ip", "-6", "addr"], capture_output=True, text=True).stdout
    if HOME_ADDRESS not in addresses:
        pytest.fail(f"{HOME_ADDRESS} is missing: run the tests through tests/isolated_network.sh")
    data_dir = tmp_path_factory.mktemp("lan")
    stack = start_stack(
        data_dir, stack_env(data_dir, dsn, anthropic_wire.base_url), lan=HOME_ADDRESS
    )
    yield stack
    stop_stack(stack)


def _authority(stack: LiveStack) -> x509.Certificate:
    return x509.load_pem_x509_certificate((stack.data_dir / "tls" / "ca.pem").read_bytes())


def test_the_home_network_gets_https_that_a_device_can_learn_to_trust(
    lan_stack: LiveStack,
) -> None:
    # Anyone can fetch the authority's certificate (that is how a phone installs it)...
    served = httpx.get(f"{lan_stack.api_url}/ca.crt", verify=False, timeout=5)  # noqa: S501
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/x-x509-ca-cert"
    authority = x509.load_pem_x509_certificate(served.content)
    assert authority == _authority(lan_stack)
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # ...and with it installed, the address checks out (no warning to click through).
    trusting = ssl.create_default_context()
    trusting.load_verify_locations(cadata=served.text)
    health = httpx.get(f"{lan_stack.api_url}/healthz", verify=trusting, timeout=5)
    assert health.status_code == 200
    # Its key stays in the data folder, readable by Butler alone.
    key = lan_stack.data_dir / "tls" / "ca-key.pem"
    assert key.stat().st_mode & 0o077 == 0
    assert httpx.get(f"{lan_stack.api_url}/ca-key.pem", verify=trusting).status_code == 404
    # Without TLS, nothing is served on that port.
    with pytest.raises(httpx.HTTPError):
        httpx.get(lan_stack.api_url.replace("https", "http") + "/healthz", timeout=5)


def test_media_is_offered_at_the_home_address_and_signalling_stays_on_loopback(
    lan_stack: LiveStack,
) -> None:
    import json

    config = json.loads((lan_stack.data_dir / "stack" / "livekit.yaml").read_text())
    assert config["rtc"]["node_ip"] == HOME_ADDRESS
    assert config["bind_addresses"] == ["127.0.0.1"]
    with pytest.raises(httpx.HTTPError):  # LiveKit's own port is not on the network
        httpx.get(f"http://[{HOME_ADDRESS}]:{lan_stack.livekit_port}/", timeout=3)


def _spki_hash(certificate: x509.Certificate) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list takes: it then trusts chains
    holding this key, as a phone does once the authority is installed."""
    import base64

    key = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key)
    return base64.b64encode(digest.finalize()).decode()


def test_a_phone_on_the_home_network_talks_to_butler(
    lan_stack: LiveStack,
    dsn: str,
    wire: AnthropicWire,
    browser_with_microphone: Callable[..., Browser],
) -> None:
    account = register(lan_stack.api_url, dsn, verify=lan_stack.verify)
    wire.default = Reply.say("The back door is locked.")
    server_key = x509.load_pem_x509_certificate(
        (lan_stack.data_dir / "tls" / "server.pem").read_bytes()
    )
    browser = browser_with_microphone(
        "Is the back door locked?",
        extra_args=[f"--ignore-certificate-errors-spki-list={_spki_hash(server_key)}"],
    )
    page = _voice_screen(browser, lan_stack, account.username)
    assert page.evaluate("window.isSecureContext") is True
    assert page.evaluate("location.hostname") == f"[{HOME_ADDRESS}]"
    with page.expect_response("**/api/auth/token") as token:
        page.get_by_role("button", name="Talk to Butler").click()
    # The room is reached through Butler's own origin, over TLS.
    port = lan_stack.api_url.rsplit(":", 1)[1]
    assert token.value.json()["livekit_url"] == f"wss://[{HOME_ADDRESS}]:{port}/livekit"
    state = page.get_by_test_id("voice-state")
    expect(state).to_have_text("Listening", timeout=60_000)
    # The meter listens to the butler's track before it speaks (a short reply could
    # be over by the time its caption is seen).
    assert wait_for(lambda: page.evaluate(_LOUDNESS) >= 0, timeout=10), "no butler track"
    transcript = page.get_by_role("log", name="Transcript")
    expect(transcript.locator("article.assistant")).to_contain_text(
        "The back door is locked", timeout=40_000
    )
    assert wait_for(lambda: page.evaluate(_LOUDNESS) > 0.01, timeout=15), "no audio played"
    assert wait_for(lambda: len(stored(dsn, account.id)) == 2, timeout=10)
    page.get_by_role("button", name="End").click()
    expect(page.get_by_role("button", name="Talk to Butler")).to_be_visible()
    page.context.close()
