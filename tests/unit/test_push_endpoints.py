"""Which push endpoints Butler sends to: public https ones (http too in development)."""

from __future__ import annotations

import asyncio

import pytest

from butler.errors import InvalidInput
from butler.notify.push_endpoints import check_endpoint


def check(url: str, *, production: bool = True, allow_private: bool = False) -> None:
    asyncio.run(check_endpoint(url, production=production, allow_private=allow_private))


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/push/abc",
        "https://push.invalid/wpush/v2/abc",  # not resolvable now: checked again at send
    ],
)
def test_public_endpoints_are_accepted(url: str) -> None:
    check(url)


@pytest.mark.parametrize(
    ("url", "production", "reason"),
    [
        ("http://8.8.8.8/push", True, "https URL"),
        ("ftp://8.8.8.8/push", False, "http URL"),
        ("https://user:secret@8.8.8.8/push", True, "user name"),
        ("http://127.0.0.1:8000/api/chat", False, "private or local"),
        ("http://localhost/x", False, "private or local"),
        ("https://169.254.169.254/latest/meta-data", True, "private or local"),
        ("https://10.1.2.3/push", True, "private or local"),
        ("https://192.168.1.20:8000/push", True, "private or local"),
        ("https://100.64.0.1/push", True, "private or local"),
        ("https://[::1]/push", True, "private or local"),
        ("https://[::ffff:127.0.0.1]/push", True, "private or local"),
        ("https://[fd00::1]/push", True, "private or local"),
        ("https://0.0.0.0/push", True, "private or local"),
        ("https://8.8.8.8:99999/push", True, "invalid port"),
    ],
)
def test_other_endpoints_are_refused(url: str, production: bool, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        check(url, production=production)


def test_a_lab_may_allow_its_own_push_server() -> None:
    check("http://127.0.0.1:8089/push", production=False, allow_private=True)
