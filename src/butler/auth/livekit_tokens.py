"""LiveKit room tokens: one fresh room per voice session, the agent dispatched by name."""

from __future__ import annotations

import json
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
    voice_credential: str,
    api_key: str,
    api_secret: str,
    url: str,
    agent_name: str,
    ttl_seconds: int,
) -> VoiceGrant:
    """A token that can join, publish and subscribe in `room_name` only.

    The dispatch metadata carries the voice-session credential: the worker presents it
    to the Butler API and so acts as this user, in this room, for a short time, and
    never holds a key that could act as anyone else.
    """
    grants = livekit_api.VideoGrants(
        room_join=True,
        room=room_name,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    dispatch = livekit_api.RoomAgentDispatch(
        agent_name=agent_name,
        metadata=json.dumps({"voice_credential": voice_credential}),
    )
    token = (
        livekit_api.AccessToken(api_key, api_secret)
        .with_identity(str(user.id))
        .with_name(user.display_name)
        .with_ttl(timedelta(seconds=ttl_seconds))
        .with_grants(grants)
        .with_room_config(livekit_api.RoomConfiguration(agents=[dispatch]))
        .to_jwt()
    )
    return VoiceGrant(token, room_name, url, ttl_seconds)
