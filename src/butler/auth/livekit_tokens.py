"""LiveKit room tokens for browsers: one fresh room per voice session."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from livekit import api as livekit_api

from butler.users.models import User


@dataclass(frozen=True)
class VoiceGrant:
    livekit_token: str
    room_name: str
    livekit_url: str
    expires_in: int


def room_name_for(user: User) -> str:
    return f"butler-{user.id.hex[:12]}-{secrets.token_hex(6)}"


def mint(
    user: User,
    *,
    room_name: str,
    api_key: str,
    api_secret: str,
    url: str,
    ttl_seconds: int,
) -> VoiceGrant:
    """A token that can join, publish and subscribe in `room_name` only.

    It carries no dispatch and no credential: the API dispatches the butler itself
    (auth/livekit_rooms.py), so nothing a browser holds can act for the worker.
    """
    grants = livekit_api.VideoGrants(
        room_join=True,
        room=room_name,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    token = (
        livekit_api.AccessToken(api_key, api_secret)
        .with_identity(str(user.id))
        .with_name(user.display_name)
        .with_ttl(timedelta(seconds=ttl_seconds))
        .with_grants(grants)
        .to_jwt()
    )
    return VoiceGrant(token, room_name, url, ttl_seconds)
