"""Access tokens that must not work: forged, expired, for another audience or issuer."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from butler.auth.tokens import TokenService
from tests.support import JWT_SECRET, Account


def _claims(account: Account, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    signed_in = jwt.decode(account.access_token, options={"verify_signature": False})
    claims = {
        "sub": account.user["id"],
        "sid": signed_in["sid"],
        "typ": "access",
        "iss": "butler",
        "aud": "butler-api",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "abc",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _me(base_url: str, token: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/users/me", headers={"Authorization": f"Bearer {token}"})


def test_a_correctly_signed_token_works(base_url: str, new_account: Callable[..., Account]) -> None:
    account = new_account()
    token = jwt.encode(_claims(account), JWT_SECRET, algorithm="HS256")
    assert _me(base_url, token).status_code == 200


@pytest.mark.parametrize(
    ("case", "overrides", "key"),
    [
        ("wrong key", {}, "another-secret-that-is-long-enough-for-hs256!!"),
        ("expired", {"exp": int(time.time()) - 120, "iat": int(time.time()) - 600}, JWT_SECRET),
        ("wrong audience", {"aud": "butler-voice"}, JWT_SECRET),
        ("wrong issuer", {"iss": "someone-else"}, JWT_SECRET),
        ("wrong type", {"typ": "voice"}, JWT_SECRET),
        ("no type", {"typ": None}, JWT_SECRET),
        ("no expiry", {"exp": None}, JWT_SECRET),
        ("subject not a user id", {"sub": "admin"}, JWT_SECRET),
        ("unknown user", {"sub": "00000000-0000-0000-0000-000000000000"}, JWT_SECRET),
        ("no session", {"sid": None}, JWT_SECRET),
        ("a session never signed in", {"sid": "00000000-0000-0000-0000-000000000000"}, JWT_SECRET),
    ],
)
def test_forged_or_stale_tokens_are_refused(
    base_url: str,
    new_account: Callable[..., Account],
    case: str,
    overrides: dict[str, Any],
    key: str,
) -> None:
    token = jwt.encode(_claims(new_account(), **overrides), key, algorithm="HS256")
    response = _me(base_url, token)
    assert response.status_code == 401, case
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] in {"invalid_token", "token_expired", "session_ended"}


def test_alg_none_is_refused(base_url: str, new_account: Callable[..., Account]) -> None:
    claims = _claims(new_account())
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert _me(base_url, token).status_code == 401


def test_a_token_signed_with_another_algorithm_is_refused(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    token = jwt.encode(_claims(new_account()), JWT_SECRET, algorithm="HS512")
    assert _me(base_url, token).status_code == 401


def test_a_refresh_token_is_not_an_access_token(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    refresh = account.client.cookies["butler_refresh"]
    assert _me(base_url, refresh).status_code == 401


def test_a_voice_credential_is_not_an_access_token(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    tokens = TokenService(JWT_SECRET, access_ttl_seconds=900, voice_ttl_seconds=600)
    voice = tokens.issue_voice(account.id, "butler-room").token
    assert _me(base_url, voice).status_code == 401


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not.a.jwt"]
)
def test_missing_or_malformed_authorization_is_refused(base_url: str, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{base_url}/api/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] in {"not_authenticated", "invalid_token"}
