"""A person's reminders and timers, and the browsers that should be told of them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from butler.api.deps import CurrentUser, Db, ServicesDep
from butler.api.reminder_schemas import (
    PushPublicKey,
    PushSubscriptionIn,
    PushUnsubscribe,
    ReminderCreate,
    ReminderList,
    ReminderOut,
)
from butler.api.schemas import error_responses
from butler.errors import NotFound
from butler.notify.push import check_keys
from butler.reminders.store import database_now

router = APIRouter(tags=["reminders"])


@router.get("/api/reminders", response_model=ReminderList, responses=error_responses(401))
async def list_reminders(user: CurrentUser, conn: Db, services: ServicesDep) -> ReminderList:
    """Your waiting reminders and timers, soonest first."""
    found = await services.notify.store.upcoming(conn, user.id)
    now = await database_now(conn)
    return ReminderList(reminders=[ReminderOut.of(r, now) for r in found])


@router.post(
    "/api/reminders",
    response_model=ReminderOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 409, 422),
)
async def add_reminder(
    body: ReminderCreate, user: CurrentUser, conn: Db, services: ServicesDep
) -> ReminderOut:
    """A reminder at `due_at`, repeated by `recurrence` (in your timezone) if given."""
    reminder = await services.notify.store.add_reminder(
        conn,
        user.id,
        text=body.text,
        due_at=body.due_at,
        recurrence=body.recurrence,
        timezone=user.timezone,
    )
    return ReminderOut.of(reminder, await database_now(conn))


@router.delete(
    "/api/reminders/{reminder_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422),
)
async def cancel_reminder(
    reminder_id: uuid.UUID, user: CurrentUser, conn: Db, services: ServicesDep
) -> Response:
    """Cancel a waiting reminder or timer of yours: it will not fire."""
    if not await services.notify.store.cancel(conn, user.id, reminder_id):
        raise NotFound("No such reminder waiting (it may have fired or been cancelled).")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/push/public-key", response_model=PushPublicKey, responses=error_responses(401))
async def push_public_key(user: CurrentUser, services: ServicesDep) -> PushPublicKey:
    """The server's VAPID public key, for the browser's PushManager.subscribe()."""
    return PushPublicKey(public_key=services.notify.public_key)


@router.post(
    "/api/push/subscriptions",
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(401, 422),
        200: {"description": "That browser was subscribed already; its keys are updated."},
    },
)
async def subscribe(
    body: PushSubscriptionIn, user: CurrentUser, conn: Db, services: ServicesDep, response: Response
) -> dict[str, bool]:
    """Send this browser your notifications (the body is its PushSubscription JSON)."""
    await services.notify.check_endpoint(body.endpoint)
    check_keys(body.keys.p256dh, body.keys.auth)
    created = await services.notify.subscriptions.add(
        conn, user.id, body.endpoint, body.keys.p256dh, body.keys.auth, services.notify.public_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return {"subscribed": True}


@router.delete(
    "/api/push/subscriptions",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422),
)
async def unsubscribe(
    user: CurrentUser,
    conn: Db,
    services: ServicesDep,
    body: Annotated[PushUnsubscribe | None, Body()] = None,
) -> Response:
    """Stop notifications to one browser (`endpoint`), or with no body to all of yours."""
    endpoint = body.endpoint if body is not None else None
    removed = await services.notify.subscriptions.remove(conn, user.id, endpoint)
    if endpoint is not None and not removed:
        raise NotFound("That browser is not subscribed.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
