"""Argon2id password hashing. Hashing is CPU-bound: callers run it in a thread."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from butler.errors import InvalidInput

MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher(type=Type.ID)
# Verified against when the username is unknown, so that a missing account costs the
# same time as a wrong password and response times do not reveal who has an account.
_DUMMY_HASH = _hasher.hash("butler-dummy-password-for-timing")


def check_password_policy(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise InvalidInput(
            f"The password must be at least {min_length} characters long.", code="weak_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.",
            code="invalid_password",
        )
    if not password.strip():
        raise InvalidInput("The password cannot be only spaces.", code="weak_password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; `stored_hash=None` burns the same time and fails."""
    return await asyncio.to_thread(_verify, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
