"""Sign-up, sign-in, session refresh and sign-out: the flows the API routes call."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from butler.auth import invites, password_resets, passwords, rate_limit, refresh
from butler.auth.tokens import IssuedToken, TokenService
from butler.db.pool import connection
from butler.errors import InvalidInput, NotAuthenticated
from butler.users import repository as users
from butler.users.models import User

# Checked after lower-casing; the API documents it as is (either case).
USERNAME_RULE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"
USERNAME_PATTERN = re.compile(USERNAME_RULE)
MAX_SPRAY_DELAY = 2.0  # seconds


def spray_delay(failures: int, per_username_limit: int) -> float:
    """The wait before answering a sign-in for a username that many addresses have
    failed at lately: nothing up to the per-pair limit, then 0.1 s more per failure, at
    most MAX_SPRAY_DELAY. It slows a guessing crowd; it never refuses the owner."""
    return min(MAX_SPRAY_DELAY, max(0, failures - per_username_limit) * 0.1)


@dataclass(frozen=True)
class AuthPolicy:
    password_min_length: int
    refresh_ttl: timedelta
    session_max_age: timedelta
    rate_limit_window_seconds: int
    rate_limit_per_ip: int
    rate_limit_per_username: int


@dataclass(frozen=True)
class SignedIn:
    user: User
    access: IssuedToken
    refresh: refresh.IssuedRefresh


def normalize_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            "A username is 3 to 32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            code="invalid_username",
        )
    return name


class Accounts:
    def __init__(self, tokens: TokenService, policy: AuthPolicy) -> None:
        self.tokens = tokens
        self.policy = policy

    async def _limit(self, conn: asyncpg.Connection, bucket: str, limit: int) -> None:
        await rate_limit.hit(
            conn, bucket, limit=limit, window_seconds=self.policy.rate_limit_window_seconds
        )

    async def _sign_in(self, conn: asyncpg.Connection, user: User) -> SignedIn:
        issued = await refresh.start_family(conn, user.id, self.policy.refresh_ttl)
        return SignedIn(user, self.tokens.issue_access(user.id, issued.family), issued)

    async def register(
        self,
        conn: asyncpg.Connection,
        *,
        client_ip: str,
        code: str,
        username: str,
        display_name: str,
        password: str,
    ) -> SignedIn:
        await self._limit(conn, f"register:ip:{client_ip}", self.policy.rate_limit_per_ip)
        name = normalize_username(username)
        passwords.check_password_policy(password, self.policy.password_min_length)
        hashed = await passwords.hash_password(password)
        async with conn.transaction():
            invite = await invites.claim(conn, code)
            user = await users.create(
                conn,
                username=name,
                display_name=display_name,
                role=invite.role,
                password_hash=hashed,
            )
            await invites.mark_used(conn, invite.id, user.id)
            return await self._sign_in(conn, user)

    async def login(
        self, pool: asyncpg.Pool, *, client_ip: str, username: str, password: str
    ) -> SignedIn:
        """Sign in. Only failures count, per address and per (username, address) pair,
        so nobody can lock an account's owner out by guessing from elsewhere; guesses at
        one username from many addresses slow every answer for it a little instead."""
        name = username.strip().lower()
        window = self.policy.rate_limit_window_seconds
        buckets = (f"login-failed:ip:{client_ip}", f"login-failed:pair:{name}:{client_ip}")
        async with connection(pool) as conn:
            await rate_limit.refuse_over(
                conn, buckets[0], limit=self.policy.rate_limit_per_ip, window_seconds=window
            )
            await rate_limit.refuse_over(
                conn, buckets[1], limit=self.policy.rate_limit_per_username, window_seconds=window
            )
            spread, _ = await rate_limit.current(
                conn, f"login-failed:user:{name}", window_seconds=window
            )
        # Waited without a database connection: a crowd of guesses cannot starve the pool.
        await asyncio.sleep(spray_delay(spread, self.policy.rate_limit_per_username))
        async with connection(pool) as conn:
            found = await users.get_with_password_hash(conn, name)
            stored_hash = found[1] if found else None
            if not await passwords.verify_password(stored_hash, password) or found is None:
                for bucket in (*buckets, f"login-failed:user:{name}"):
                    await rate_limit.count(conn, bucket, window_seconds=window)
                raise NotAuthenticated("Wrong username or password.", code="invalid_credentials")
            user, stored = found
            if passwords.needs_rehash(stored):
                new_hash = await passwords.hash_password(password)
                await users.update_password_hash(conn, user.id, new_hash)
            return await self._sign_in(conn, user)

    async def refresh(self, conn: asyncpg.Connection, token: str) -> SignedIn:
        issued = await refresh.rotate(
            conn, token, self.policy.refresh_ttl, max_age=self.policy.session_max_age
        )
        user = await users.get(conn, issued.user_id)
        if user is None:
            raise NotAuthenticated("Please sign in again.", code="invalid_refresh")
        return SignedIn(user, self.tokens.issue_access(user.id, issued.family), issued)

    async def reset_password(
        self, conn: asyncpg.Connection, *, client_ip: str, code: str, password: str
    ) -> SignedIn:
        """A new password from an admin's one-time reset link: every session the person
        had ends (whoever knew the old password is out), and this one begins."""
        await self._limit(conn, f"reset:ip:{client_ip}", self.policy.rate_limit_per_ip)
        passwords.check_password_policy(password, self.policy.password_min_length)
        hashed = await passwords.hash_password(password)
        async with conn.transaction():
            user_id = await password_resets.claim(conn, code)
            user = await users.get(conn, user_id)
            assert user is not None  # removing a person removes their reset codes
            await users.update_password_hash(conn, user_id, hashed)
            await refresh.forget_all(conn, user_id)
            return await self._sign_in(conn, user)

    async def logout(self, conn: asyncpg.Connection, token: str) -> uuid.UUID | None:
        """Revoke the session; returns whose it was (None for an unknown token)."""
        return await refresh.revoke(conn, token)
