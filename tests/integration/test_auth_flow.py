"""Register, log in, refresh with rotation and reuse detection, log out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import asyncpg
import httpx

from butler.auth.digest import digest
from butler.users.models import Role
from tests.support import PASSWORD, Account, new_invite, run, unique_name

REFRESH_COOKIE = "butler_refresh"


def _register(base_url: str, code: str, username: str, password: str = PASSWORD) -> httpx.Response:
    with httpx.Client(base_url=base_url) as client:
        return client.post(
            "/api/auth/register",
            json={
                "code": code,
                "username": username,
                "display_name": "Someone",
                "password": password,
            },
        )


def test_admin_invite_registers_an_admin_with_a_strict_refresh_cookie(
    base_url: str, dsn: str
) -> None:
    username = unique_name("Admin")
    response = _register(base_url, new_invite(dsn, Role.ADMIN), username)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["role"] == "admin"
    assert body["user"]["username"] == username.lower()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 900
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{REFRESH_COOKIE}=")
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/api/auth" in lowered
    assert response.headers["cache-control"] == "no-store"


def test_member_invite_registers_a_member(new_account: Callable[..., Account]) -> None:
    assert new_account().user["role"] == "member"


def test_invite_is_single_use(base_url: str, dsn: str) -> None:
    code = new_invite(dsn)
    assert _register(base_url, code, unique_name()).status_code == 201
    second = _register(base_url, code, unique_name())
    assert second.status_code == 422
    assert second.json()["error"] == "invite_used"


def test_unknown_invite_is_refused(base_url: str) -> None:
    response = _register(base_url, "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", unique_name())
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_invite"


def test_expired_invite_is_refused_and_creates_no_user(base_url: str, dsn: str) -> None:
    code = new_invite(dsn, ttl=timedelta(seconds=-1))
    username = unique_name()
    response = _register(base_url, code, username)
    assert response.status_code == 422
    assert response.json()["error"] == "invite_expired"

    async def count(conn: asyncpg.Connection) -> int:
        return int(
            await conn.fetchval("SELECT count(*) FROM butler.users WHERE username = $1", username)
        )

    assert run(count, dsn) == 0


def test_invite_code_is_accepted_in_lowercase_without_dashes(base_url: str, dsn: str) -> None:
    code = new_invite(dsn).replace("-", "").lower()
    assert _register(base_url, code, unique_name()).status_code == 201


def test_taken_username_is_a_conflict_and_keeps_the_invite_unused(
    base_url: str, dsn: str, new_account: Callable[..., Account]
) -> None:
    existing = new_account()
    code = new_invite(dsn)
    response = _register(base_url, code, existing.username)
    assert response.status_code == 409
    assert response.json()["error"] == "username_taken"
    assert _register(base_url, code, unique_name()).status_code == 201


def test_short_password_and_bad_username_are_refused(base_url: str, dsn: str) -> None:
    weak = _register(base_url, new_invite(dsn), unique_name(), password="short")
    assert weak.status_code == 422
    assert weak.json()["error"] == "weak_password"
    bad = _register(base_url, new_invite(dsn), "no spaces allowed")
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_username"


def test_login_and_profile(base_url: str, new_account: Callable[..., Account]) -> None:
    account = new_account()
    with httpx.Client(base_url=base_url) as client:
        response = client.post(
            "/api/auth/login", json={"username": account.username.upper(), "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    profile = me.json()
    assert profile["id"] == account.user["id"]
    assert set(profile) == {
        "id",
        "username",
        "display_name",
        "role",
        "soul",
        "voice",
        "timezone",
        "home_place",
    }


def test_wrong_password_and_unknown_user_look_the_same(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    with httpx.Client(base_url=base_url) as client:
        wrong = client.post(
            "/api/auth/login", json={"username": account.username, "password": "not the password"}
        )
        unknown = client.post(
            "/api/auth/login", json={"username": unique_name(), "password": PASSWORD}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "invalid_credentials",
            "message": "Wrong username or password.",
        }
    )
    assert "set-cookie" not in wrong.headers


def test_refresh_rotates_the_cookie_and_issues_a_working_access_token(
    new_account: Callable[..., Account],
) -> None:
    account = new_account()
    first_cookie = account.client.cookies[REFRESH_COOKIE]
    response = account.client.post("/api/auth/refresh")
    assert response.status_code == 200, response.text
    assert account.client.cookies[REFRESH_COOKIE] != first_cookie
    token = response.json()["access_token"]
    me = account.client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["id"] == account.user["id"]


def _backdate(dsn: str, token: str, *, rotated_s: float = 0, started_days: float = 0) -> None:
    """Make the token's rotation (and its session's start) lie further in the past."""

    async def update(conn: asyncpg.Connection) -> None:
        family = await conn.fetchval(
            """UPDATE butler.refresh_tokens SET revoked_at = revoked_at - $2::interval
               WHERE token_hash = $1 RETURNING family""",
            digest(token),
            timedelta(seconds=rotated_s),
        )
        await conn.execute(
            """UPDATE butler.refresh_tokens SET created_at = created_at - $2::interval
               WHERE family = $1""",
            family,
            timedelta(days=started_days),
        )

    run(update, dsn)


def test_reusing_an_old_refresh_token_revokes_the_whole_family(
    base_url: str, dsn: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    stolen = account.client.cookies[REFRESH_COOKIE]
    assert account.client.post("/api/auth/refresh").status_code == 200
    current = account.client.cookies[REFRESH_COOKIE]
    _backdate(dsn, stolen, rotated_s=60)  # replayed a minute after it was replaced

    with httpx.Client(base_url=base_url, cookies={REFRESH_COOKIE: stolen}) as thief:
        replay = thief.post("/api/auth/refresh")
    assert replay.status_code == 401
    assert replay.json()["error"] == "refresh_reused"

    with httpx.Client(base_url=base_url, cookies={REFRESH_COOKIE: current}) as victim:
        after = victim.post("/api/auth/refresh")
    assert after.status_code == 401


def test_two_tabs_refreshing_at_once_both_stay_signed_in(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    """Tabs share one cookie: the second refresh with it, a moment after the first
    rotated it, gets the same session, not a revocation."""
    account = new_account()
    shared = account.client.cookies[REFRESH_COOKIE]
    tabs = [httpx.Client(base_url=base_url, cookies={REFRESH_COOKIE: shared}) for _ in range(2)]
    try:
        answers = [tab.post("/api/auth/refresh") for tab in tabs]
        assert [a.status_code for a in answers] == [200, 200], answers[1].text
        for tab in tabs:  # each tab's new cookie works on
            assert tab.post("/api/auth/refresh").status_code == 200
    finally:
        for tab in tabs:
            tab.close()


def test_a_signed_out_session_is_not_revived_by_the_grace(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    old = account.client.cookies[REFRESH_COOKIE]
    assert account.client.post("/api/auth/refresh").status_code == 200
    assert account.client.post("/api/auth/logout").status_code == 204
    with httpx.Client(base_url=base_url, cookies={REFRESH_COOKIE: old}) as other_tab:
        assert other_tab.post("/api/auth/refresh").status_code == 401


def test_a_session_ends_at_its_absolute_limit_however_often_refreshed(
    base_url: str, dsn: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    _backdate(dsn, account.client.cookies[REFRESH_COOKIE], started_days=91)
    ended = account.client.post("/api/auth/refresh")
    assert ended.status_code == 401 and ended.json()["error"] == "session_too_old"
    assert account.client.post("/api/auth/refresh").status_code == 401


def test_other_sessions_survive_a_reuse_in_another_family(
    base_url: str, dsn: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    with httpx.Client(base_url=base_url) as laptop:
        login = laptop.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        )
        assert login.status_code == 200
        stolen = account.client.cookies[REFRESH_COOKIE]
        account.client.post("/api/auth/refresh")
        _backdate(dsn, stolen, rotated_s=60)
        with httpx.Client(base_url=base_url, cookies={REFRESH_COOKIE: stolen}) as thief:
            assert thief.post("/api/auth/refresh").status_code == 401
        assert laptop.post("/api/auth/refresh").status_code == 200


def test_refresh_without_or_with_a_garbage_cookie_is_refused(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        assert client.post("/api/auth/refresh").status_code == 401
        client.cookies.set(REFRESH_COOKIE, "garbage", path="/api/auth")
        response = client.post("/api/auth/refresh")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_refresh"


def test_logout_revokes_the_session_and_clears_the_cookie(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    cookie = account.client.cookies[REFRESH_COOKIE]
    response = account.client.post("/api/auth/logout")
    assert response.status_code == 204
    assert f"{REFRESH_COOKIE}=" in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
    with httpx.Client(base_url=base_url, cookies={REFRESH_COOKIE: cookie}) as client:
        after = client.post("/api/auth/refresh")
    # An ended session, not a replay: no "signed out for your safety".
    assert after.status_code == 401 and after.json()["error"] == "invalid_refresh", after.text
    assert "safety" not in after.json()["message"]


def test_sign_out_ends_the_sessions_access_tokens_at_once(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    account = new_account()
    with httpx.Client(base_url=base_url) as laptop:
        other = laptop.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        ).json()["access_token"]
        assert account.client.get("/api/users/me", headers=account.auth).status_code == 200
        assert account.client.post("/api/auth/logout").status_code == 204
        ended = account.client.get("/api/users/me", headers=account.auth)
        assert ended.status_code == 401 and ended.json()["error"] == "session_ended"
        # The same person's other sign-in goes on.
        still = laptop.get("/api/users/me", headers={"Authorization": f"Bearer {other}"})
        assert still.status_code == 200


def test_logout_without_a_session_is_harmless(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        assert client.post("/api/auth/logout").status_code == 204
