"""The signed-in person's own profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from butler.api.deps import CurrentUser, Db
from butler.api.schemas import ProfilePatch, UserOut, VoiceOption, error_responses
from butler.users import repository as users
from butler.users.models import Soul, User, validate_timezone, validate_voice
from butler.users.voices import VOICES

router = APIRouter(prefix="/api/users", tags=["users"])
_ERRORS = error_responses(401, 422)


@router.get("/me", response_model=UserOut, responses=_ERRORS)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


def profile_changes(user: User, patch: ProfilePatch) -> dict[str, Any]:
    """Validate a patch against the current user and return the columns to write."""
    changes: dict[str, Any] = {}
    if patch.display_name is not None:
        changes["display_name"] = patch.display_name.strip()
    if patch.voice is not None:
        changes["voice"] = validate_voice(patch.voice)
    if patch.timezone is not None:
        changes["timezone"] = validate_timezone(patch.timezone)
    if patch.soul is not None:
        merged = user.soul.model_dump() | patch.soul.model_dump(exclude_none=True)
        changes["soul"] = Soul.model_validate(merged).model_dump()
    return changes


@router.patch("/me", response_model=UserOut, responses=_ERRORS)
async def update_me(patch: ProfilePatch, user: CurrentUser, conn: Db) -> UserOut:
    updated = await users.update_profile(conn, user.id, profile_changes(user, patch))
    return UserOut.of(updated)


@router.get("/voices", response_model=list[VoiceOption], responses=_ERRORS)
async def voices(user: CurrentUser) -> list[VoiceOption]:
    return [VoiceOption(id=voice, label=label) for voice, label in VOICES.items()]
