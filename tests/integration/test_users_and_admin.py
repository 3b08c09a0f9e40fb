"""Profiles, isolation between people, and admin powers."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx

from butler.users.models import Role
from tests.support import Account, run


def test_profile_update_validates_and_merges_the_soul(
    new_account: Callable[..., Account],
) -> None:
    account = new_account()
    response = account.client.patch(
        "/api/users/me",
        headers=account.auth,
        json={
            "display_name": "  Mum  ",
            "voice": "bm_george",
            "timezone": "Europe/London",
            "soul": {"butler_name": "Jeeves", "humour": "plenty"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "Mum"
    assert body["voice"] == "bm_george"
    assert body["timezone"] == "Europe/London"
    assert body["soul"]["butler_name"] == "Jeeves"
    assert body["soul"]["humour"] == "plenty"
    assert body["soul"]["style"] == "warm"  # untouched fields keep their values

    second = account.client.patch(
        "/api/users/me", headers=account.auth, json={"soul": {"verbosity": "brief"}}
    )
    assert second.json()["soul"]["butler_name"] == "Jeeves"
    assert second.json()["soul"]["verbosity"] == "brief"
    assert account.client.get("/api/users/me", headers=account.auth).json() == second.json()


def test_profile_update_refuses_bad_values(new_account: Callable[..., Account]) -> None:
    account = new_account()
    cases = [
        ({"voice": "darth_vader"}, "invalid_voice"),
        ({"timezone": "Mars/Olympus_Mons"}, "invalid_timezone"),
        ({"timezone": "../../etc/passwd"}, "invalid_timezone"),
        ({"display_name": "x" * 65}, "invalid_request"),
        ({"display_name": "   "}, "invalid_request"),
        ({"soul": {"style": "rude"}}, "invalid_request"),
        ({"soul": {"custom_instructions": "y" * 2001}}, "invalid_request"),
        ({"soul": {"unknown": 1}}, "invalid_request"),
        ({"role": "admin"}, "invalid_request"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "invalid_request"),
    ]
    for body, code in cases:
        response = account.client.patch("/api/users/me", headers=account.auth, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == code, body
    me = account.client.get("/api/users/me", headers=account.auth).json()
    assert me["role"] == "member"
    assert me["voice"] == "bf_emma"


def test_people_only_ever_see_and_change_themselves(
    new_account: Callable[..., Account],
) -> None:
    alice, bob = new_account(), new_account()
    alice.client.patch("/api/users/me", headers=alice.auth, json={"display_name": "Alice"})
    bob_me = bob.client.get("/api/users/me", headers=bob.auth).json()
    assert bob_me["id"] == bob.user["id"]
    assert bob_me["display_name"] != "Alice"
    # A member has no route to anyone else's account.
    for method, path in [
        ("GET", "/api/admin/users"),
        ("PATCH", f"/api/admin/users/{alice.user['id']}"),
        ("DELETE", f"/api/admin/users/{alice.user['id']}"),
        ("POST", "/api/admin/invites"),
    ]:
        body = {"role": "member"} if method in {"PATCH", "POST"} else None
        response = bob.client.request(method, path, headers=bob.auth, json=body)
        assert response.status_code == 403, path
        assert response.json()["error"] == "forbidden"
    assert alice.client.get("/api/users/me", headers=alice.auth).json()["display_name"] == "Alice"


def test_voices_are_listed(new_account: Callable[..., Account]) -> None:
    account = new_account()
    voices = account.client.get("/api/users/voices", headers=account.auth).json()
    assert {"id": "bf_emma", "label": "Emma (British English, female)"} in voices


def test_admin_lists_promotes_and_demotes(new_account: Callable[..., Account]) -> None:
    admin, member = new_account(Role.ADMIN), new_account()
    listed = admin.client.get("/api/admin/users", headers=admin.auth)
    assert listed.status_code == 200
    assert {admin.user["id"], member.user["id"]} <= {u["id"] for u in listed.json()}

    promoted = admin.client.patch(
        f"/api/admin/users/{member.user['id']}", headers=admin.auth, json={"role": "admin"}
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    assert member.client.get("/api/admin/users", headers=member.auth).status_code == 200
    demoted = admin.client.patch(
        f"/api/admin/users/{member.user['id']}", headers=admin.auth, json={"role": "member"}
    )
    assert demoted.json()["role"] == "member"
    assert member.client.get("/api/admin/users", headers=member.auth).status_code == 403


def test_admin_cannot_remove_the_last_admin(dsn: str, new_account: Callable[..., Account]) -> None:
    admin = new_account(Role.ADMIN)

    async def demote_others(conn: asyncpg.Connection) -> None:
        await conn.execute(
            "UPDATE butler.users SET role = 'member' WHERE role = 'admin' AND id <> $1", admin.id
        )

    run(demote_others, dsn)
    path = f"/api/admin/users/{admin.user['id']}"
    demote = admin.client.patch(path, headers=admin.auth, json={"role": "member"})
    assert demote.status_code == 409
    assert demote.json()["error"] == "last_admin"
    assert admin.client.delete(path, headers=admin.auth).status_code == 409


def test_admin_deletes_a_user_and_all_their_data(
    dsn: str, new_account: Callable[..., Account], base_url: str
) -> None:
    admin, member = new_account(Role.ADMIN), new_account()

    async def seed(conn: asyncpg.Connection) -> None:
        await conn.execute(
            "INSERT INTO butler.conversation_history (user_id, channel, role, content) "
            "VALUES ($1, 'text', 'user', 'hello')",
            member.id,
        )
        await conn.execute(
            "INSERT INTO butler.user_facts (user_id, fact) VALUES ($1, 'likes tea')", member.id
        )
        await conn.execute(
            "INSERT INTO butler.tool_usage (user_id, channel, tool_name, status) "
            "VALUES ($1, 'text', 'lights', 'ok')",
            member.id,
        )
        await conn.execute(
            "INSERT INTO butler.voice_turns (user_id, session_id, total_ms) VALUES ($1, 's', 600)",
            member.id,
        )

    run(seed, dsn)
    response = admin.client.delete(f"/api/admin/users/{member.user['id']}", headers=admin.auth)
    assert response.status_code == 204

    async def leftovers(conn: asyncpg.Connection) -> int:
        total = 0
        for table in (
            "users",
            "credentials",
            "refresh_tokens",
            "conversation_history",
            "user_facts",
            "tool_usage",
            "voice_turns",
        ):
            column = "id" if table == "users" else "user_id"
            total += await conn.fetchval(
                f"SELECT count(*) FROM butler.{table} WHERE {column} = $1", member.id
            )
        return total

    assert run(leftovers, dsn) == 0
    assert member.client.get("/api/users/me", headers=member.auth).status_code == 401
    assert member.client.post("/api/auth/refresh").status_code == 401
    missing = admin.client.delete(f"/api/admin/users/{member.user['id']}", headers=admin.auth)
    assert missing.status_code == 404


def test_admin_creates_invites_over_the_api(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    admin = new_account(Role.ADMIN)
    response = admin.client.post(
        "/api/admin/invites", headers=admin.auth, json={"role": "member", "expires_in_days": 1}
    )
    assert response.status_code == 201
    code = response.json()["code"]
    with httpx.Client(base_url=base_url) as client:
        registered = client.post(
            "/api/auth/register",
            json={
                "code": code,
                "username": "invited" + code[:4].lower(),
                "display_name": "I",
                "password": "another long passphrase",
            },
        )
    assert registered.status_code == 201
    bad = admin.client.post("/api/admin/invites", headers=admin.auth, json={"expires_in_days": 0})
    assert bad.status_code == 422


def test_admin_lists_and_revokes_unused_invites(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    admin = new_account(Role.ADMIN)
    made = [
        admin.client.post(
            "/api/admin/invites", headers=admin.auth, json={"role": role, "expires_in_days": 2}
        ).json()
        for role in ("member", "admin")
    ]
    listed = admin.client.get("/api/admin/invites", headers=admin.auth)
    assert listed.status_code == 200
    mine = {i["id"]: i for i in listed.json() if i["id"] in {m["id"] for m in made}}
    assert set(mine) == {m["id"] for m in made}
    assert mine[made[1]["id"]]["role"] == "admin"
    assert mine[made[0]["id"]]["created_by"] == admin.user["display_name"]
    assert "code" not in mine[made[0]["id"]], "codes are not kept, so never listed"

    # Revoked: gone from the list, and its link no longer registers anyone.
    gone = admin.client.delete(f"/api/admin/invites/{made[0]['id']}", headers=admin.auth)
    assert gone.status_code == 204
    ids = {i["id"] for i in admin.client.get("/api/admin/invites", headers=admin.auth).json()}
    assert made[0]["id"] not in ids and made[1]["id"] in ids
    with httpx.Client(base_url=base_url) as client:
        refused = client.post(
            "/api/auth/register",
            json={
                "code": made[0]["code"],
                "username": "revoked" + made[0]["code"][:4].lower(),
                "display_name": "R",
                "password": "another long passphrase",
            },
        )
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_invite"
    again = admin.client.delete(f"/api/admin/invites/{made[0]['id']}", headers=admin.auth)
    assert again.status_code == 404 and again.json()["error"] == "invite_not_found"
    bad = admin.client.delete("/api/admin/invites/not-a-uuid", headers=admin.auth)
    assert bad.status_code == 422

    # A member can neither list nor revoke.
    member = new_account()
    assert member.client.get("/api/admin/invites", headers=member.auth).status_code == 403
    denied = member.client.delete(f"/api/admin/invites/{made[1]['id']}", headers=member.auth)
    assert denied.status_code == 403


def test_an_admins_reset_link_sets_a_new_password_once_and_ends_old_sessions(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    admin, member = new_account(Role.ADMIN), new_account()
    path = f"/api/admin/users/{member.id}/password-reset"
    assert member.client.post(path, json={}, headers=member.auth).status_code == 403
    unknown = admin.client.post(
        "/api/admin/users/00000000-0000-0000-0000-000000000000/password-reset",
        json={},
        headers=admin.auth,
    )
    assert unknown.status_code == 404
    made = admin.client.post(path, json={"expires_in_hours": 2}, headers=admin.auth)
    assert made.status_code == 201, made.text
    code = made.json()["code"]

    with httpx.Client(base_url=base_url) as phone:
        weak = phone.post("/api/auth/reset-password", json={"code": code, "password": "short"})
        assert weak.status_code == 422 and weak.json()["error"] == "weak_password"
        # A refused password does not spend the link.
        new_password = "a brand new passphrase"
        reset = phone.post(
            "/api/auth/reset-password", json={"code": code, "password": new_password}
        )
        assert reset.status_code == 200, reset.text
        assert reset.json()["user"]["username"] == member.username
        again = phone.post(
            "/api/auth/reset-password", json={"code": code, "password": new_password}
        )
        assert again.status_code == 422 and again.json()["error"] == "invalid_reset"

    # Whoever had the old password is out: the old session's tokens no longer work.
    old = member.client.get("/api/users/me", headers=member.auth)
    assert old.status_code == 401
    assert member.client.post("/api/auth/refresh").status_code == 401
    login = httpx.post(
        f"{base_url}/api/auth/login",
        json={"username": member.username, "password": new_password},
    )
    assert login.status_code == 200


def test_a_newer_reset_link_replaces_an_unused_one(new_account: Callable[..., Account]) -> None:
    admin, member = new_account(Role.ADMIN), new_account()
    path = f"/api/admin/users/{member.id}/password-reset"
    first = admin.client.post(path, json={}, headers=admin.auth).json()["code"]
    admin.client.post(path, json={}, headers=admin.auth)
    stale = admin.client.post(
        "/api/auth/reset-password", json={"code": first, "password": "another passphrase"}
    )
    assert stale.status_code == 422 and stale.json()["error"] == "invalid_reset"
