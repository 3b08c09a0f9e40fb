"""LiveKit's webhooks: a room that ended, or a person who left it, ends its voice session.

The embedded LiveKit server is configured to call this; with an external server, add
`<Butler URL>/api/livekit/webhook` to its `webhook.urls` with Butler's API key.
Requests are signed by the server (a JWT with the body's SHA-256), checked against the
raw bytes.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response, status
from livekit import api as livekit_api

from butler.api.deps import Db, ServicesDep
from butler.api.schemas import error_responses
from butler.auth import voice_sessions
from butler.errors import NotAuthenticated

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/livekit", tags=["voice"])


@router.post("/webhook", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401))
async def webhook(request: Request, services: ServicesDep, conn: Db) -> Response:
    lk = services.livekit
    receiver = livekit_api.WebhookReceiver(livekit_api.TokenVerifier(lk.api_key, lk.api_secret))
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        event = receiver.receive(body, request.headers.get("authorization", ""))
    except Exception:  # the SDK raises several kinds for a bad signature or body
        raise NotAuthenticated("The webhook signature is not valid.") from None
    room = event.room.name
    if event.event == "room_finished" and room:
        await voice_sessions.end(conn, room, "room_finished")
    elif event.event == "participant_left" and room:
        # The person left (not the butler): end the session and close the room.
        owner = await voice_sessions.owner(conn, room)
        if owner is not None and event.participant.identity == str(owner):
            await voice_sessions.end(conn, room, "participant_left")
            await lk.rooms.close([room])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
