"""Voice rooms on the LiveKit server, opened and closed by the API (never by a browser).

The API creates each room, for two participants (the person and the butler), and
dispatches the agent into it with the voice-session credential in the dispatch's
metadata, which only the worker receives. The browser's token can join that one room
and carries nothing else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import aiohttp
from livekit import api as livekit_api

from butler.errors import Unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomPolicy:
    agent_name: str
    # A room nobody joined closes after this long; one the person left, at once.
    empty_timeout_seconds: int = 120
    departure_timeout_seconds: int = 1
    request_timeout_seconds: float = 5.0


class LiveKitRooms:
    """The LiveKit server's room and agent-dispatch services, for one API process."""

    def __init__(self, http_url: str, api_key: str, api_secret: str, policy: RoomPolicy) -> None:
        self.http_url = http_url
        self._key = api_key
        self._secret = api_secret
        self.policy = policy
        self._api: livekit_api.LiveKitAPI | None = None

    def _client(self) -> livekit_api.LiveKitAPI:
        # Made on first use: the client's HTTP session belongs to the running event loop.
        if self._api is None:
            self._api = livekit_api.LiveKitAPI(
                self.http_url,
                self._key,
                self._secret,
                timeout=aiohttp.ClientTimeout(total=self.policy.request_timeout_seconds),
            )
        return self._api

    async def open(self, room_name: str, voice_credential: str) -> None:
        """Create the room and dispatch the butler into it, or raise Unavailable."""
        client = self._client()
        try:
            await client.room.create_room(
                livekit_api.CreateRoomRequest(
                    name=room_name,
                    empty_timeout=self.policy.empty_timeout_seconds,
                    departure_timeout=self.policy.departure_timeout_seconds,
                    max_participants=2,
                )
            )
            await client.agent_dispatch.create_dispatch(
                livekit_api.CreateAgentDispatchRequest(
                    agent_name=self.policy.agent_name,
                    room=room_name,
                    metadata=json.dumps({"voice_credential": voice_credential}),
                )
            )
        except (aiohttp.ClientError, TimeoutError, livekit_api.TwirpError) as exc:
            log.warning("LiveKit at %s refused or did not answer: %s", self.http_url, exc)
            raise Unavailable(
                "The voice server is not answering right now. Try again in a moment.",
                code="voice_unavailable",
            ) from None

    async def close(self, room_names: list[str]) -> None:
        """Delete rooms (their participants, the butler included, are disconnected).
        Best effort: a room that is already gone, or a server that is down, is fine."""
        if not room_names:
            return
        client = self._client()

        async def delete(name: str) -> None:
            try:
                await client.room.delete_room(livekit_api.DeleteRoomRequest(room=name))
            except (aiohttp.ClientError, TimeoutError, livekit_api.TwirpError) as exc:
                log.info("could not delete room %s: %s", name, exc)

        await asyncio.gather(*(delete(name) for name in room_names))

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None
