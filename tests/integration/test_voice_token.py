"""POST /api/auth/token: a LiveKit token for one fresh room, with the agent dispatched."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from livekit import api as livekit_api

from butler.auth.tokens import TokenService
from butler.errors import NotAuthenticated
from tests.support import JWT_SECRET, LIVEKIT_KEY, LIVEKIT_SECRET, Account


def test_voice_token_verifies_and_carries_exactly_the_room_grants(
    new_account: Callable[..., Account],
) -> None:
    account = new_account()
    response = account.client.post("/api/auth/token", headers=account.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["livekit_url"] == "ws://127.0.0.1:7880"
    room = body["room_name"]
    assert room.startswith(f"butler-{account.id.hex[:12]}-")

    claims = livekit_api.TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(body["livekit_token"])
    assert claims.identity == account.user["id"]
    video = claims.video
    assert video.room_join is True
    assert video.room == room
    assert video.can_publish is True
    assert video.can_subscribe is True
    for power in (
        "room_create",
        "room_list",
        "room_record",
        "room_admin",
        "ingress_admin",
        "recorder",
        "hidden",
        "agent",
        "destination_room",
    ):
        assert not getattr(video, power), power

    raw = json.loads(
        __import__("base64").urlsafe_b64decode(body["livekit_token"].split(".")[1] + "==")
    )
    lifetime = raw["exp"] - raw["nbf"]
    assert 60 <= lifetime <= 3600, "the token lives for minutes"
    assert raw["exp"] > time.time()

    agents = claims.room_config.agents
    assert [a.agent_name for a in agents] == ["butler"]
    metadata = json.loads(agents[0].metadata)
    assert set(metadata) == {"voice_credential"}

    tokens = TokenService(JWT_SECRET, access_ttl_seconds=900, voice_ttl_seconds=600)
    session = tokens.verify_voice(metadata["voice_credential"])
    assert session.user_id == account.id
    assert session.room == room


def test_each_voice_session_gets_a_fresh_room(new_account: Callable[..., Account]) -> None:
    account = new_account()
    rooms = {
        account.client.post("/api/auth/token", headers=account.auth).json()["room_name"]
        for _ in range(3)
    }
    assert len(rooms) == 3


def test_the_voice_credential_is_not_accepted_with_a_wrong_key_or_as_access(
    new_account: Callable[..., Account],
) -> None:
    account = new_account()
    body = account.client.post("/api/auth/token", headers=account.auth).json()
    claims = livekit_api.TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(body["livekit_token"])
    credential = json.loads(claims.room_config.agents[0].metadata)["voice_credential"]
    other = TokenService("another-" + "z" * 60, access_ttl_seconds=900, voice_ttl_seconds=600)
    with pytest.raises(NotAuthenticated):
        other.verify_voice(credential)
    mine = TokenService(JWT_SECRET, access_ttl_seconds=900, voice_ttl_seconds=600)
    with pytest.raises(NotAuthenticated):
        mine.verify_access(credential)


def test_voice_token_needs_a_signed_in_user(base_url: str) -> None:
    assert httpx.post(f"{base_url}/api/auth/token").status_code == 401
