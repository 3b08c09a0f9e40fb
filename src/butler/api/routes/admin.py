"""Household administration: people, roles, invites. Admins only."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Response, status

from butler.api.deps import AdminUser, Db
from butler.api.schemas import (
    AdminUserOut,
    InviteCreate,
    InviteOut,
    PasswordResetCreate,
    PasswordResetOut,
    PendingInviteOut,
    RolePatch,
    error_responses,
)
from butler.auth import invites, password_resets
from butler.errors import NotFound
from butler.users import repository as users

router = APIRouter(prefix="/api/admin", tags=["admin"])
_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.get("/users", response_model=list[AdminUserOut], responses=_ERRORS)
async def list_users(admin: AdminUser, conn: Db) -> list[AdminUserOut]:
    return [AdminUserOut.of(u) for u in await users.list_all(conn)]


@router.patch("/users/{user_id}", response_model=AdminUserOut, responses=_ERRORS)
async def change_role(
    user_id: uuid.UUID, body: RolePatch, admin: AdminUser, conn: Db
) -> AdminUserOut:
    return AdminUserOut.of(await users.set_role(conn, user_id, body.role))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_user(user_id: uuid.UUID, admin: AdminUser, conn: Db) -> Response:
    await users.delete(conn, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invites", status_code=status.HTTP_201_CREATED, response_model=InviteOut, responses=_ERRORS
)
async def create_invite(body: InviteCreate, admin: AdminUser, conn: Db) -> InviteOut:
    invite = await invites.create(
        conn, role=body.role, ttl=timedelta(days=body.expires_in_days), created_by=admin.id
    )
    return InviteOut(id=invite.id, code=invite.code, role=invite.role, expires_at=invite.expires_at)


@router.get("/invites", response_model=list[PendingInviteOut], responses=_ERRORS)
async def list_invites(admin: AdminUser, conn: Db) -> list[PendingInviteOut]:
    """Invites not yet used nor expired, newest first. Their codes are not stored, so
    they cannot be shown again: revoke one and create another instead."""
    return [PendingInviteOut(**vars(invite)) for invite in await invites.pending(conn)]


@router.delete("/invites/{invite_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def revoke_invite(invite_id: uuid.UUID, admin: AdminUser, conn: Db) -> Response:
    if not await invites.revoke(conn, invite_id):
        raise NotFound("No such unused invite.", code="invite_not_found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/password-reset",
    status_code=status.HTTP_201_CREATED,
    response_model=PasswordResetOut,
    responses=_ERRORS,
)
async def create_password_reset(
    user_id: uuid.UUID, body: PasswordResetCreate, admin: AdminUser, conn: Db
) -> PasswordResetOut:
    """A one-time link for someone who forgot their password (replaces an unused one).
    Using it ends all their sessions."""
    reset = await password_resets.create(
        conn, user_id, ttl=timedelta(hours=body.expires_in_hours), created_by=admin.id
    )
    return PasswordResetOut(code=reset.code, expires_at=reset.expires_at)
