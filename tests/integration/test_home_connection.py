"""An admin connects Home Assistant in the app: tested before it is saved, the token
sealed at rest and never returned, every API process following the saved choice, and
the settings winning over the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from butler.users.models import Role
from tests.fakes.home_assistant import TOKEN, VERSION, FakeHomeAssistant
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import wait_for
from tests.support import Account, claude_at, live_server, make_settings, register, run

KEY = "k" * 16 + "-an-encryption-key-for-tests-0123456789"
OTHER_KEY = "o" * 16 + "-another-encryption-key-for-tests-987"
FOLLOW_SECONDS = 12  # other processes look every 5 s


@pytest.fixture
def forget_saved(dsn: str) -> Iterator[None]:
    """The saved connection is one row per database: leave none behind."""

    async def clear(conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM butler.home_connection")

    run(clear, dsn)
    yield
    run(clear, dsn)


def serve(tmp_path: Path, dsn: str, name: str, **auth: Any) -> Any:
    return live_server(make_settings(tmp_path / name, **auth), dsn)


def status(account: Account) -> dict[str, Any]:
    response = account.client.get("/api/home/status", headers=account.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def connection(account: Account) -> dict[str, Any]:
    response = account.client.get("/api/admin/home/connection", headers=account.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def saved_row(dsn: str) -> dict[str, Any] | None:
    async def fetch(conn: asyncpg.Connection) -> dict[str, Any] | None:
        row = await conn.fetchrow("SELECT url, token_encrypted FROM butler.home_connection")
        return dict(row) if row else None

    return run(fetch, dsn)


@pytest.mark.usefixtures("forget_saved")
def test_an_admin_connects_home_assistant_in_the_app_and_every_process_follows(
    home_assistant: FakeHomeAssistant, dsn: str, tmp_path: Path
) -> None:
    with (
        serve(tmp_path, dsn, "a", encryption_key=KEY) as first,
        serve(tmp_path, dsn, "b", encryption_key=KEY) as second,
    ):
        admin = register(first, dsn, Role.ADMIN)
        admin_b = register(second, dsn, Role.ADMIN)
        assert connection(admin) == {
            "source": "none",
            "url": None,
            "token_saved": False,
            "editable": True,
            "updated_at": None,
        }
        assert status(admin)["state"] == "not_configured"

        # The test button: a wrong token is refused, the right one signs in; nothing saved.
        test = "/api/admin/home/connection/test"
        wrong = admin.client.post(
            test, json={"url": home_assistant.url, "token": "not-the-token"}, headers=admin.auth
        )
        assert wrong.status_code == 200, wrong.text
        assert wrong.json()["ok"] is False and "refused" in wrong.json()["error"].lower()
        right = admin.client.post(
            test, json={"url": home_assistant.url, "token": TOKEN}, headers=admin.auth
        )
        assert right.json() == {"ok": True, "version": VERSION, "error": None}
        assert saved_row(dsn) is None

        saved = admin.client.put(
            "/api/admin/home/connection",
            json={"url": home_assistant.url + "/", "token": TOKEN},
            headers=admin.auth,
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["source"] == "app" and saved.json()["token_saved"] is True
        assert saved.json()["url"] == home_assistant.url
        assert TOKEN not in saved.text
        row = saved_row(dsn)
        assert row is not None and TOKEN not in row["token_encrypted"]

        assert wait_for(lambda: status(admin)["state"] == "connected")
        assert status(admin)["source"] == "app" and status(admin)["entities"] > 0
        # The other process follows the saved choice without a restart.
        assert wait_for(lambda: status(admin_b)["state"] == "connected", FOLLOW_SECONDS)

        # The home works at once, without any model configured.
        home_assistant.set_state("light.kitchen_ceiling", "on")
        said = admin.client.post(
            "/api/chat", json={"message": "Turn off the kitchen lights."}, headers=admin.auth
        )
        assert said.status_code == 200, said.text
        assert home_assistant.state("light.kitchen_ceiling")["state"] == "off"

        # The saved token is tested again without being sent back...
        again = admin.client.post(test, json={}, headers=admin.auth)
        assert again.json()["ok"] is True
        # ...but never sent to another address.
        elsewhere = admin.client.post(test, json={"url": "http://127.0.0.1:9"}, headers=admin.auth)
        assert elsewhere.status_code == 422, elsewhere.text
        moved = admin.client.put(
            "/api/admin/home/connection", json={"url": "http://127.0.0.1:9"}, headers=admin.auth
        )
        assert moved.status_code == 422 and saved_row(dsn) == row

        gone = admin.client.delete("/api/admin/home/connection", headers=admin.auth)
        assert gone.status_code == 204
        assert status(admin)["state"] == "not_configured"
        assert wait_for(lambda: status(admin_b)["state"] == "not_configured", FOLLOW_SECONDS)
        reply = admin_b.client.post(
            "/api/chat", json={"message": "Turn off the kitchen lights."}, headers=admin_b.auth
        )
        assert reply.status_code == 503  # no model and no home: nothing can answer


@pytest.mark.usefixtures("forget_saved")
def test_a_token_sealed_with_another_key_is_reported_not_used(
    home_assistant: FakeHomeAssistant, dsn: str, tmp_path: Path
) -> None:
    with serve(tmp_path, dsn, "a", encryption_key=KEY) as url:
        admin = register(url, dsn, Role.ADMIN)
        body = {"url": home_assistant.url, "token": TOKEN}
        put = admin.client.put("/api/admin/home/connection", json=body, headers=admin.auth)
        assert put.status_code == 200, put.text
    with serve(tmp_path, dsn, "c", encryption_key=OTHER_KEY) as url:
        admin = register(url, dsn, Role.ADMIN)
        found = status(admin)
        assert found["state"] == "unreadable" and found["configured"] is False
        assert "BUTLER_AUTH__ENCRYPTION_KEY" in found["error"]
        # Entering the token again under this key mends it.
        put = admin.client.put("/api/admin/home/connection", json=body, headers=admin.auth)
        assert put.status_code == 200, put.text
        assert wait_for(lambda: status(admin)["state"] == "connected")


@pytest.mark.usefixtures("forget_saved")
def test_bad_connection_details_are_refused_with_reasons(
    home_assistant: FakeHomeAssistant, dsn: str, tmp_path: Path
) -> None:
    with serve(tmp_path, dsn, "a", encryption_key=KEY) as url:
        admin = register(url, dsn, Role.ADMIN)
        member = register(url, dsn)
        path = "/api/admin/home/connection"
        for body in (
            {"url": "ftp://homeassistant.local", "token": TOKEN},
            {"url": "http://user:pass@homeassistant.local:8123", "token": TOKEN},
            {"url": "http://homeassistant.local:99999", "token": TOKEN},
            {"url": "homeassistant.local:8123", "token": TOKEN},
            {"url": home_assistant.url, "token": "has a space in it"},
            {"url": home_assistant.url, "token": "short"},
            {"url": home_assistant.url},  # no token saved yet
            {"url": home_assistant.url, "token": TOKEN, "extra": 1},
        ):
            response = admin.client.put(path, json=body, headers=admin.auth)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["message"]
        assert saved_row(dsn) is None
        refused = member.client.put(
            path, json={"url": home_assistant.url, "token": TOKEN}, headers=member.auth
        )
        assert refused.status_code == 403
        assert member.client.get(path, headers=member.auth).status_code == 403
        unreachable = admin.client.post(
            path + "/test", json={"url": "http://127.0.0.1:9", "token": TOKEN}, headers=admin.auth
        )
        assert unreachable.json()["ok"] is False and "127.0.0.1:9" in unreachable.json()["error"]


@pytest.mark.usefixtures("forget_saved")
def test_without_an_encryption_key_no_token_is_saved(
    home_assistant: FakeHomeAssistant, dsn: str, tmp_path: Path
) -> None:
    with serve(tmp_path, dsn, "a") as url:
        admin = register(url, dsn, Role.ADMIN)
        response = admin.client.put(
            "/api/admin/home/connection",
            json={"url": home_assistant.url, "token": TOKEN},
            headers=admin.auth,
        )
        assert response.status_code == 409
        assert "BUTLER_AUTH__ENCRYPTION_KEY" in response.json()["message"]
        assert saved_row(dsn) is None


def test_the_settings_win_over_the_app(home_url: str, dsn: str) -> None:
    admin = register(home_url, dsn, Role.ADMIN)
    found = connection(admin)
    assert found["source"] == "settings" and found["editable"] is False
    assert found["token_saved"] is True and "token" not in found
    response = admin.client.put(
        "/api/admin/home/connection",
        json={"url": "http://127.0.0.1:9", "token": "a-new-token-value"},
        headers=admin.auth,
    )
    assert response.status_code == 409
    assert "BUTLER_HOME_ASSISTANT__URL" in response.json()["message"]
    assert admin.client.delete("/api/admin/home/connection", headers=admin.auth).status_code == 409


@pytest.mark.usefixtures("forget_saved")
def test_the_model_is_offered_home_tools_only_while_home_assistant_is_connected(
    home_assistant: FakeHomeAssistant, wire: AnthropicWire, dsn: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "a", llm=claude_at(wire.base_url, timeout_seconds=5), encryption_key=KEY
    )
    with live_server(settings, dsn) as url:
        admin = register(url, dsn, Role.ADMIN)

        def tools_offered() -> set[str]:
            wire.play(Reply.say("Hello."))
            said = admin.client.post("/api/chat", json={"message": "Hi"}, headers=admin.auth)
            assert said.status_code == 200, said.text
            return {t["name"] for t in wire.requests[-1]["tools"]}

        assert "control_device" not in tools_offered()
        body = {"url": home_assistant.url, "token": TOKEN}
        put = admin.client.put("/api/admin/home/connection", json=body, headers=admin.auth)
        assert put.status_code == 200, put.text
        assert {"find_devices", "device_state", "control_device"} <= tools_offered()
