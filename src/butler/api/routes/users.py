"""The signed-in person's own profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from butler.api.deps import CurrentUser, Db, ServicesDep
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


@router.patch("/me", response_model=UserOut, responses=error_responses(401, 422, 502))
async def update_me(
    patch: ProfilePatch, user: CurrentUser, conn: Db, services: ServicesDep
) -> UserOut:
    """Change one's profile. `home_place` is looked up (Open-Meteo's geocoding): 422 when
    no such place is found, 502 when the service cannot be reached."""
    changes = profile_changes(user, patch)
    if patch.home_place is not None:
        named = patch.home_place.strip()
        place = await services.weather.find_place(named) if named else None
        changes["home_place"] = place.as_json() if place is not None else None
    updated = await users.update_profile(conn, user.id, changes)
    return UserOut.of(updated)


@router.get("/voices", response_model=list[VoiceOption], responses=_ERRORS)
async def voices(user: CurrentUser) -> list[VoiceOption]:
    return [VoiceOption(id=voice, label=label) for voice, label in VOICES.items()]
