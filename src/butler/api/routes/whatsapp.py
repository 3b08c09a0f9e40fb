"""WhatsApp: Meta's webhook, a person linking their number, and the admins' view.

The webhook answers as soon as what it carries is stored (the responder answers the
messages from there), and refuses anything whose signature is wrong with 401 before
reading it. Everything here answers 404 while the channel is not configured.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from butler.api.deps import AdminUser, CurrentUser, Db, ServicesDep
from butler.api.schemas import error_responses
from butler.api.whatsapp_schemas import (
    WhatsAppAdminStatus,
    WhatsAppCodeIn,
    WhatsAppNumberIn,
    WhatsAppPending,
    WhatsAppPreferences,
    WhatsAppProblemOut,
    WhatsAppStatus,
)
from butler.channels.whatsapp import inbox, links, outbox
from butler.channels.whatsapp.service import WhatsApp
from butler.errors import NotFound
from butler.users.models import User

WEBHOOK_PATH = "/api/channels/whatsapp/webhook"
WEBHOOK_MAX_BYTES = 3 * 1024 * 1024  # Meta's own ceiling for one webhook

router = APIRouter(tags=["whatsapp"])


def _channel(services: ServicesDep) -> WhatsApp:
    if services.whatsapp is None:
        raise NotFound(
            "WhatsApp is not set up on this Butler (see BUTLER_WHATSAPP__* in .env.example).",
            code="whatsapp_not_configured",
        )
    return services.whatsapp


@router.get(
    WEBHOOK_PATH, response_class=PlainTextResponse, responses=error_responses(401, 404, 422)
)
async def verify_webhook(
    services: ServicesDep,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=20)] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token", max_length=500)] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=500)] = None,
) -> PlainTextResponse:
    """Meta's subscription check: the challenge echoed when the verify token matches."""
    echoed = _channel(services).challenge(mode, token, challenge)
    # Plain text a browser must not read as anything else: the echo is the caller's text.
    return PlainTextResponse(echoed, headers={"X-Content-Type-Options": "nosniff"})


@router.post(WEBHOOK_PATH, responses=error_responses(401, 404, 413, 422))
async def receive_webhook(
    request: Request,
    services: ServicesDep,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> dict[str, int]:
    """Messages and delivery statuses from Meta, signed with the app secret."""
    channel = _channel(services)
    raw = await request.body()
    return {"stored": await channel.receive(raw, signature)}


async def _status(user: User, conn: Db, services: ServicesDep) -> WhatsAppStatus:
    link = await links.link_of(conn, user.id)
    pending = await links.pending_code(conn, user.id)
    settings = services.whatsapp.settings if services.whatsapp else None
    return WhatsAppStatus(
        available=services.whatsapp is not None,
        business_number=settings.display_number if settings else None,
        phone_number=f"+{link.phone_number}" if link else None,
        voice_replies=link.voice_replies if link else False,
        linked_at=link.linked_at if link else None,
        pending=WhatsAppPending(
            phone_number=f"+{pending.phone_number}", expires_at=pending.expires_at
        )
        if pending
        else None,
    )


@router.get("/api/users/me/whatsapp", response_model=WhatsAppStatus, responses=error_responses(401))
async def my_whatsapp(user: CurrentUser, conn: Db, services: ServicesDep) -> WhatsAppStatus:
    """Your linked number, a code waiting to be entered, and whether WhatsApp is set up."""
    return await _status(user, conn, services)


@router.post(
    "/api/users/me/whatsapp",
    response_model=WhatsAppStatus,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 502),
)
async def link_number(
    body: WhatsAppNumberIn, user: CurrentUser, conn: Db, services: ServicesDep
) -> WhatsAppStatus:
    """Send a six-digit code to this number on WhatsApp (valid 10 minutes, 5 tries).
    409 when the number is someone else's, or WhatsApp will not let Butler write first."""
    await _channel(services).send_code(user.id, body.phone_number)
    return await _status(user, conn, services)


@router.post(
    "/api/users/me/whatsapp/verify",
    response_model=WhatsAppStatus,
    responses=error_responses(401, 404, 409, 422),
)
async def verify_number(
    body: WhatsAppCodeIn, user: CurrentUser, conn: Db, services: ServicesDep
) -> WhatsAppStatus:
    """Link the number the code went to; each wrong code uses up a try."""
    await _channel(services).verify(user.id, body.code)
    return await _status(user, conn, services)


@router.patch(
    "/api/users/me/whatsapp",
    response_model=WhatsAppStatus,
    responses=error_responses(401, 404, 422),
)
async def whatsapp_preferences(
    body: WhatsAppPreferences, user: CurrentUser, conn: Db, services: ServicesDep
) -> WhatsAppStatus:
    if await links.set_voice_replies(conn, user.id, body.voice_replies) is None:
        raise NotFound("No WhatsApp number is linked.", code="not_linked")
    return await _status(user, conn, services)


@router.delete(
    "/api/users/me/whatsapp", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401)
)
async def unlink_number(user: CurrentUser, conn: Db) -> Response:
    """Unlink your number (and drop a code waiting to be entered); messages from it then
    get the access reply."""
    await links.unlink(conn, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/admin/whatsapp", response_model=WhatsAppAdminStatus, responses=error_responses(401, 403)
)
async def whatsapp_admin(admin: AdminUser, conn: Db, services: ServicesDep) -> WhatsAppAdminStatus:
    """Whether the channel is set up, messages waiting, and what went wrong lately:
    replies and reminders WhatsApp refused, and messages that could not be answered."""
    waiting = await inbox.waiting(conn)
    problems = await outbox.recent_problems(conn)
    return WhatsAppAdminStatus(
        configured=services.whatsapp is not None,
        webhook_path=WEBHOOK_PATH,
        waiting=waiting,
        problems=[WhatsAppProblemOut(**vars(p)) for p in problems],
    )
