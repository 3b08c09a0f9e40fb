"""POST /api/auth/token: a fresh room on the real LiveKit server, the butler dispatched
into it by the API, and a browser token that carries nothing but the right to join.
The worker's credential is bound to one room and one person, and is revoked when the
room ends or the person signs out."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from livekit import api as livekit_api

from butler.auth.tokens import TokenService
from butler.config import LiveKitSettings
from butler.users.models import Role
from tests.livekit_server import LiveKitServer, dispatched_credential
from tests.support import (
    JWT_SECRET,
    LIVEKIT_KEY,
    LIVEKIT_SECRET,
    Account,
    free_port,
    live_server,
    make_settings,
    register,
)


def _on_livekit(livekit: LiveKitServer, call: Callable[[livekit_api.LiveKitAPI], Any]) -> Any:
    async def main() -> Any:
        async with livekit_api.LiveKitAPI(
            livekit.settings.http_url, LIVEKIT_KEY, LIVEKIT_SECRET
        ) as client:
            return await call(client)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _rooms(livekit: LiveKitServer) -> dict[str, livekit_api.Room]:
    async def rooms(client: livekit_api.LiveKitAPI) -> dict[str, livekit_api.Room]:
        listing = await client.room.list_rooms(livekit_api.ListRoomsRequest())
        return {room.name: room for room in listing.rooms}

    found: dict[str, livekit_api.Room] = _on_livekit(livekit, rooms)
    return found


def _payload(jwt_token: str) -> dict[str, Any]:
    part = jwt_token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_the_browser_token_joins_one_room_and_carries_no_credential(
    new_account: Callable[..., Account], livekit: LiveKitServer
) -> None:
    account = new_account()
    response = account.client.post("/api/auth/token", headers=account.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["livekit_url"] == livekit.settings.server_url
    assert body["ice_servers"] == []
    room = body["room_name"]
    assert room.startswith(f"butler-{account.id.hex[:12]}-")

    claims = livekit_api.TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(body["livekit_token"])
    assert claims.identity == account.user["id"]
    video = claims.video
    assert (video.room_join, video.room, video.can_publish, video.can_subscribe) == (
        True,
        room,
        True,
        True,
    )
    for power in ("room_create", "room_list", "room_record", "room_admin", "agent", "hidden"):
        assert not getattr(video, power), power
    raw = _payload(body["livekit_token"])
    assert 60 <= raw["exp"] - raw["nbf"] <= 3600, "the token lives for minutes"
    # Nothing a browser can read acts for the worker: no dispatch, no metadata.
    assert "roomConfig" not in raw and "metadata" not in raw
    assert "voice" not in json.dumps(raw)

    # The API made the room (two places: the person and the butler) and dispatched the
    # butler with the credential, which only the worker receives.
    made = _rooms(livekit)[room]
    assert made.max_participants == 2
    credential, _ = dispatched_credential_for(account, livekit, room)
    session = TokenService(JWT_SECRET, access_ttl_seconds=900, voice_ttl_seconds=600).verify_voice(
        credential
    )
    assert (session.user_id, session.room) == (account.id, room)


def dispatched_credential_for(
    account: Account, livekit: LiveKitServer, room: str
) -> tuple[str, str]:
    async def listing(client: livekit_api.LiveKitAPI) -> list[livekit_api.AgentDispatch]:
        found: list[livekit_api.AgentDispatch] = await client.agent_dispatch.list_dispatch(
            room_name=room
        )
        return found

    dispatches = [d for d in _on_livekit(livekit, listing) if d.agent_name == "butler"]
    assert len(dispatches) == 1
    return json.loads(dispatches[0].metadata)["voice_credential"], room


def test_each_voice_session_gets_a_fresh_room(new_account: Callable[..., Account]) -> None:
    account = new_account()
    rooms = {
        account.client.post("/api/auth/token", headers=account.auth).json()["room_name"]
        for _ in range(3)
    }
    assert len(rooms) == 3


def test_a_new_room_replacing_a_lost_one_ends_it_but_not_anyone_elses(
    new_account: Callable[..., Account], livekit: LiveKitServer
) -> None:
    """After a lost connection the app asks for a room that replaces the old one: the
    old room's credential stops working and the room closes; naming another person's
    room (or nonsense) changes nothing of theirs."""
    account, other = new_account(), new_account()
    old_credential, old_room = dispatched_credential(account)
    theirs, their_room = dispatched_credential(other)
    for name in (their_room, "no-such-room"):
        fresh = account.client.post(
            "/api/auth/token", json={"replaces": name}, headers=account.auth
        )
        assert fresh.status_code == 200, fresh.text
    assert their_room in _rooms(livekit)
    assert _me(account, theirs) == 200
    assert _me(account, old_credential) == 200, "not replaced yet"

    fresh = account.client.post(
        "/api/auth/token", json={"replaces": old_room}, headers=account.auth
    )
    assert fresh.status_code == 200 and fresh.json()["room_name"] != old_room
    assert _me(account, old_credential) == 401
    assert old_room not in _rooms(livekit)
    too_long = account.client.post(
        "/api/auth/token", json={"replaces": "x" * 500}, headers=account.auth
    )
    assert too_long.status_code == 422


def _me(account: Account, credential: str) -> int:
    headers = {"Authorization": f"Bearer {credential}"}
    return account.client.get("/api/voice/me", headers=headers).status_code


def test_browser_held_tokens_cannot_call_the_voice_routes(
    new_account: Callable[..., Account],
) -> None:
    account = new_account()
    body = account.client.post("/api/auth/token", headers=account.auth).json()
    for token in (body["livekit_token"], account.access_token):
        for method, path in (("POST", "/api/voice/stream"), ("GET", "/api/voice/me")):
            response = account.client.request(
                method,
                path,
                json={"transcript": "Hi"} if method == "POST" else None,
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 401, (path, response.text)


def test_a_credential_for_room_a_is_useless_in_room_b(new_account: Callable[..., Account]) -> None:
    account = new_account()
    credential_a, _ = dispatched_credential(account)
    _, room_b = dispatched_credential(account)
    worker = httpx.Client(
        base_url=str(account.client.base_url),
        headers={"Authorization": f"Bearer {credential_a}"},
        timeout=10,
    )
    assert worker.get("/api/voice/me").status_code == 200
    for path, body in (
        ("/api/voice/process", {"transcript": "Hi", "session_id": room_b}),
        (
            "/api/voice/interrupted",
            {"turn_id": "t1", "transcript": "Hi", "delivered_text": "Hel", "session_id": room_b},
        ),
    ):
        refused = worker.post(path, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "wrong_room"


def test_a_signed_credential_without_an_open_room_is_refused(
    new_account: Callable[..., Account],
) -> None:
    account = new_account()
    forged_room = TokenService(
        JWT_SECRET, access_ttl_seconds=900, voice_ttl_seconds=600
    ).issue_voice(account.id, "butler-never-opened")
    response = account.client.get(
        "/api/voice/me", headers={"Authorization": f"Bearer {forged_room.token}"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "voice_session_ended"


def test_signing_out_revokes_the_credential_and_closes_the_room(
    new_account: Callable[..., Account], livekit: LiveKitServer
) -> None:
    account = new_account()
    credential, room = dispatched_credential(account)
    assert room in _rooms(livekit)
    worker = {"Authorization": f"Bearer {credential}"}
    assert account.client.get("/api/voice/me", headers=worker).status_code == 200
    assert account.client.post("/api/auth/logout").status_code == 204
    assert account.client.get("/api/voice/me", headers=worker).status_code == 401
    late = {"turn_id": "t1", "transcript": "Hi", "delivered_text": "Hel"}
    assert (
        account.client.post("/api/voice/interrupted", json=late, headers=worker).status_code == 401
    ), "after sign-out, not even the session's last records"
    assert room not in _rooms(livekit)


def test_the_worker_ending_the_session_revokes_it_and_closes_the_room(
    new_account: Callable[..., Account], livekit: LiveKitServer
) -> None:
    account = new_account()
    credential, room = dispatched_credential(account)
    worker = {"Authorization": f"Bearer {credential}"}
    assert account.client.post("/api/voice/end", headers=worker).status_code == 204
    assert account.client.get("/api/voice/me", headers=worker).status_code == 401
    refused = account.client.post("/api/voice/stream", json={"transcript": "Hi"}, headers=worker)
    assert refused.status_code == 401
    # The session's last records (an interrupted reply, timings) are still filed just
    # after the person left.
    late = {"turn_id": "t1", "transcript": "Hi", "delivered_text": "Hel"}
    assert (
        account.client.post("/api/voice/interrupted", json=late, headers=worker).status_code == 204
    )
    assert room not in _rooms(livekit)
    # Another person's credential cannot end this person's other room.
    other = new_account()
    other_credential, _ = dispatched_credential(other)
    mine, my_room = dispatched_credential(account)
    ended = account.client.post(
        "/api/voice/end",
        json={"session_id": my_room},
        headers={"Authorization": f"Bearer {other_credential}"},
    )
    assert ended.status_code == 204  # it ends the caller's own room, whatever the body says
    assert (
        account.client.get("/api/voice/me", headers={"Authorization": f"Bearer {mine}"}).status_code
        == 200
    )


def _signed_webhook(event: dict[str, Any], secret: str = LIVEKIT_SECRET) -> tuple[str, str]:
    body = json.dumps(event)
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = livekit_api.AccessToken(LIVEKIT_KEY, secret).with_sha256(digest).to_jwt()
    return body, token


def test_a_webhook_for_the_room_ending_revokes_its_credential(
    new_account: Callable[..., Account],
) -> None:
    account = new_account()
    credential, room = dispatched_credential(account)
    worker = {"Authorization": f"Bearer {credential}"}

    forged_body, forged = _signed_webhook(
        {"event": "room_finished", "room": {"name": room}}, secret="w" * 48
    )
    refused = account.client.post(
        "/api/livekit/webhook",
        content=forged_body,
        headers={"Authorization": forged, "Content-Type": "application/webhook+json"},
    )
    assert refused.status_code == 401
    body, token = _signed_webhook({"event": "room_finished", "room": {"name": room}})
    tampered = body.replace(room, room + "x")
    assert (
        account.client.post(
            "/api/livekit/webhook", content=tampered, headers={"Authorization": token}
        ).status_code
        == 401
    )
    assert account.client.get("/api/voice/me", headers=worker).status_code == 200

    accepted = account.client.post(
        "/api/livekit/webhook",
        content=body,
        headers={"Authorization": token, "Content-Type": "application/webhook+json"},
    )
    assert accepted.status_code == 204, accepted.text
    assert account.client.get("/api/voice/me", headers=worker).status_code == 401


def test_the_person_leaving_ends_the_session_but_the_butler_leaving_does_not(
    new_account: Callable[..., Account], livekit: LiveKitServer
) -> None:
    account = new_account()
    credential, room = dispatched_credential(account)
    worker = {"Authorization": f"Bearer {credential}"}
    for identity, still_open in (("agent-AJ_x", True), (account.user["id"], False)):
        body, token = _signed_webhook(
            {
                "event": "participant_left",
                "room": {"name": room},
                "participant": {"identity": identity},
            }
        )
        response = account.client.post(
            "/api/livekit/webhook", content=body, headers={"Authorization": token}
        )
        assert response.status_code == 204
        status = account.client.get("/api/voice/me", headers=worker).status_code
        assert status == (200 if still_open else 401), identity
    assert room not in _rooms(livekit)


def test_no_voice_server_means_503_and_no_open_session(
    dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("no-livekit"))
    with live_server(settings, dsn) as url:
        account = register(url, dsn)
        response = account.client.post("/api/auth/token", headers=account.auth)
        assert response.status_code == 503
        assert response.json()["error"] == "voice_unavailable"
        assert "voice server" in response.json()["message"]


def test_the_relay_says_when_its_voice_server_is_down(
    dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Butler's own LiveKit server (no URL set) not running: signalling is refused with
    "try again later" and `validate` answers 503 in Butler's error format."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    embedded = LiveKitSettings(port=free_port(), api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET)
    settings = make_settings(tmp_path_factory.mktemp("embedded-down"), livekit=embedded)
    with live_server(settings, dsn) as url:
        answer = httpx.get(f"{url}/livekit/rtc/validate", params={"access_token": "x"})
        assert answer.status_code == 503
        assert answer.json()["error"] == "voice_unavailable"
        relay = url.replace("http", "ws") + "/livekit/rtc?access_token=x"
        with pytest.raises(InvalidStatus) as refused, connect(relay, open_timeout=10):
            pass
        assert refused.value.response.status_code == 403


def test_voice_availability_is_plain_for_members_and_says_what_to_fix_to_admins(
    dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("no-livekit-2"))
    with live_server(settings, dsn) as url:
        admin = register(url, dsn, Role.ADMIN)
        member = register(url, dsn)
        seen = member.client.get("/api/auth/voice", headers=member.auth).json()
        assert seen["available"] is False
        assert admin.user["display_name"] in seen["message"]
        assert seen["fix"] is None
        assert "BUTLER_" not in seen["message"] and "LiveKit" not in seen["message"]
        fix = admin.client.get("/api/auth/voice", headers=admin.auth).json()["fix"]
        assert "BUTLER_LIVEKIT__URL" in fix


def test_voice_is_available_when_the_server_answers(new_account: Callable[..., Account]) -> None:
    account = new_account()
    body = account.client.get("/api/auth/voice", headers=account.auth).json()
    assert body == {"available": True, "message": None, "fix": None}
    ready = account.client.get("/readyz").json()
    assert ready["voice"] == {"livekit": "up", "worker": "external"}


def test_voice_token_needs_a_signed_in_user(base_url: str) -> None:
    assert httpx.post(f"{base_url}/api/auth/token").status_code == 401
    assert httpx.get(f"{base_url}/api/auth/voice").status_code == 401


def test_with_its_own_livekit_server_butler_relays_nothing(base_url: str) -> None:
    """The relay and the certificate download exist for the embedded stack and `--lan`;
    with a LiveKit URL configured (this server) and no local TLS, both are absent."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    assert httpx.get(f"{base_url}/livekit/rtc/validate").status_code == 404
    relay = base_url.replace("http", "ws") + "/livekit/rtc"
    with pytest.raises(InvalidStatus) as refused, connect(relay, open_timeout=10):
        pass
    assert refused.value.response.status_code == 403
    certificate = httpx.get(f"{base_url}/ca.crt")
    assert certificate.status_code == 404
    assert certificate.json()["error"] == "not_found"
