"""Login and registration are rate limited per client address and per username."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PASSWORD, Account, live_server, make_settings, unique_name


@pytest.fixture(scope="module")
def strict_url(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("strict"), rate_limit_per_ip=5, rate_limit_per_username=3
    )
    with live_server(settings, dsn) as url:
        yield url


def _login(url: str, username: str, password: str, ip: str) -> httpx.Response:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (BUTLER_SERVER__FORWARDED_ALLOW_IPS),
    # as it would from a reverse proxy, so each test can act as a distinct client.
    return httpx.post(
        f"{url}/api/auth/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": ip},
    )


def test_guessing_from_many_addresses_never_locks_the_owner_out(
    strict_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    statuses = [
        _login(strict_url, account.username, "wrong guess", f"198.51.100.{i}").status_code
        for i in range(10)
    ]
    assert statuses == [401] * 10
    owner = _login(strict_url, account.username, PASSWORD, "198.51.100.99")
    assert owner.status_code == 200, owner.text


def test_one_address_guessing_one_username_is_stopped_there_only(
    strict_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    guesser = "198.51.100.150"
    statuses = [
        _login(strict_url, account.username, "guess", guesser).status_code for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    blocked = _login(strict_url, account.username, PASSWORD, guesser)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert blocked.json()["error"] == "rate_limited"
    assert _login(strict_url, account.username, PASSWORD, "198.51.100.151").status_code == 200


def test_successful_sign_ins_do_not_count(
    strict_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    statuses = {
        _login(strict_url, account.username, PASSWORD, "198.51.100.160").status_code
        for _ in range(8)  # more than the per-address limit of 5
    }
    assert statuses == {200}


def test_per_address_limit(strict_url: str, tmp_path: Path) -> None:
    ip = "203.0.113.77"
    statuses = [_login(strict_url, unique_name(), "x", ip).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    # Another address is unaffected.
    assert _login(strict_url, unique_name(), "x", "203.0.113.78").status_code == 401


def test_registration_is_limited_per_address(strict_url: str) -> None:
    ip = "192.0.2.45"
    statuses = [
        httpx.post(
            f"{strict_url}/api/auth/register",
            json={
                "code": "NOPE",
                "username": unique_name(),
                "display_name": "x",
                "password": PASSWORD,
            },
            headers={"X-Forwarded-For": ip},
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 5 + [429]
