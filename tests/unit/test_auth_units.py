"""Pure pieces of auth: durations, invite codes, usernames, tokens, passwords."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta

import jwt
import pytest

from butler.auth import invites, passwords
from butler.auth.accounts import normalize_username
from butler.auth.tokens import TokenService
from butler.cli import parse_duration
from butler.errors import InvalidInput, NotAuthenticated

SECRET = "unit-test-secret-" + "k" * 48


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 1.5D ", timedelta(days=1.5)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7 days", "-1d", "0h", "100d", "1y"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_invite_codes_are_unambiguous_and_normalize() -> None:
    code = invites.new_code()
    groups = code.split("-")
    assert len(groups) == 5
    assert all(len(g) == 5 for g in groups)
    assert not set(code.replace("-", "")) & set("ILOU")
    assert invites.normalize(code.lower().replace("-", " ")) == code.replace("-", "")
    assert len({invites.new_code() for _ in range(200)}) == 200


@pytest.mark.parametrize("name", ["alice", "Bob.Smith", "k9_unit", "a-b"])
def test_usernames_accepted_and_lowercased(name: str) -> None:
    assert normalize_username(f"  {name} ") == name.lower()


@pytest.mark.parametrize("name", ["ab", "x" * 33, "-lead", "has space", "emoji😀", "semi;colon"])
def test_usernames_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_username(name)


def test_access_and_voice_tokens_round_trip_and_stay_apart() -> None:
    tokens = TokenService(SECRET, access_ttl_seconds=900, voice_ttl_seconds=600)
    user = uuid.uuid4()
    session = uuid.uuid4()
    access = tokens.issue_access(user, session)
    claims = tokens.verify_access(access.token)
    assert (claims.user_id, claims.session_id) == (user, session)
    voice = tokens.issue_voice(user, "butler-room-1")
    session = tokens.verify_voice(voice.token)
    assert (session.user_id, session.room) == (user, "butler-room-1")
    with pytest.raises(NotAuthenticated):
        tokens.verify_voice(access.token)
    with pytest.raises(NotAuthenticated):
        tokens.verify_access(voice.token)


def test_expired_access_token_says_expired() -> None:
    tokens = TokenService(SECRET, access_ttl_seconds=900, voice_ttl_seconds=600)
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "typ": "access",
        "iss": "butler",
        "aud": "butler-api",
        "iat": now - 1000,
        "nbf": now - 1000,
        "exp": now - 60,
        "jti": "x",
    }
    with pytest.raises(NotAuthenticated) as caught:
        tokens.verify_access(jwt.encode(claims, SECRET, algorithm="HS256"))
    assert caught.value.code == "token_expired"


def test_an_access_token_without_its_session_is_refused() -> None:
    tokens = TokenService(SECRET, access_ttl_seconds=900, voice_ttl_seconds=600)
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "typ": "access",
        "iss": "butler",
        "aud": "butler-api",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "x",
    }
    for sid in (None, "not-a-uuid"):
        token = jwt.encode({**claims, **({"sid": sid} if sid else {})}, SECRET, algorithm="HS256")
        with pytest.raises(NotAuthenticated) as caught:
            tokens.verify_access(token)
        assert caught.value.code == "invalid_token"


def test_passwords_hash_with_argon2id_and_verify() -> None:
    hashed = asyncio.run(passwords.hash_password("a good long password"))
    assert hashed.startswith("$argon2id$")
    assert asyncio.run(passwords.verify_password(hashed, "a good long password"))
    assert not asyncio.run(passwords.verify_password(hashed, "a good long passworD"))
    assert not asyncio.run(passwords.verify_password(None, "anything"))
    assert not asyncio.run(passwords.verify_password("not-a-hash", "anything"))


@pytest.mark.parametrize("password", ["short", " " * 20, "x" * 1025])
def test_password_policy(password: str) -> None:
    with pytest.raises(InvalidInput):
        passwords.check_password_policy(password, 10)
