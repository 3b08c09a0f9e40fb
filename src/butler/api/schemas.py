"""Request and response bodies. Requests forbid unknown fields; strings are bounded."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from types import UnionType
from typing import Any, Literal, Self, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from butler.auth.accounts import USERNAME_RULE
from butler.users.models import Role, Soul, User

# C0 and C1 control characters, but for tab, line feed and carriage return: never
# meaningful in what a person types, and NUL cannot be stored in PostgreSQL text.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def reject_control_characters(value: Any) -> None:
    if isinstance(value, str):
        if _CONTROL_CHARACTERS.search(value):
            raise ValueError(
                "text must not contain control characters such as NUL (\\u0000) or "
                "\\u001c; tabs and line breaks are fine"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_control_characters(key)
            reject_control_characters(item)
    elif isinstance(value, list):
        for item in value:
            reject_control_characters(item)


def _members(annotation: Any) -> set[Any]:
    if get_origin(annotation) in (Union, UnionType):
        return {member for member in get_args(annotation) if member is not type(None)}
    return {annotation}


def reject_other_json_types(annotation: Any, value: Any) -> None:
    """A boolean field takes only true or false, a number field only numbers: pydantic
    would otherwise accept `"temporary": 0` or `"confidence": false`, which the OpenAPI
    document calls invalid. (Its strict mode would also refuse ISO dates and enum values
    given as JSON strings, as FastAPI validates the parsed body.)"""
    if value is None:
        return
    kinds = _members(annotation)
    if kinds == {bool} and not isinstance(value, bool):
        raise ValueError("must be true or false")
    if (
        kinds
        and kinds <= {int, float}
        and (isinstance(value, bool) or not isinstance(value, int | float))
    ):
        raise ValueError("must be a number")


class Strict(BaseModel):
    """Base of every request body: unknown fields, control characters and values of
    another JSON type are refused, each reported on its own field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="before")
    @classmethod
    def _as_documented(cls, value: Any, info: ValidationInfo) -> Any:
        reject_control_characters(value)
        if info.field_name is not None:
            reject_other_json_types(cls.model_fields[info.field_name].annotation, value)
        return value


class RegisterRequest(Strict):
    code: str = Field(min_length=1, max_length=64)
    # The rules are stated, not enforced here: the accounts module refuses with its own
    # codes (invalid_username, weak_password) and sentences, which the app shows.
    username: str = Field(
        min_length=1,
        max_length=64,
        description="3 to 32 letters, digits, '.', '_' or '-', starting with a letter or "
        f"digit (pattern {USERNAME_RULE}, either case; stored in lower case).",
    )
    display_name: str = Field(min_length=1, max_length=64, pattern=r"\S")
    password: str = Field(
        min_length=1,
        max_length=1024,
        description="At least BUTLER_AUTH__PASSWORD_MIN_LENGTH characters (10 unless set).",
    )


class SignInRules(BaseModel):
    """What the sign-in page shows before anyone types (public)."""

    has_accounts: bool = Field(description="False on a fresh install: nobody can sign in yet.")
    password_min_length: int
    username_rule: str = Field(description="The username's pattern (either case).")


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class HomePlace(Strict):
    name: str
    latitude: float
    longitude: float


class UserOut(BaseModel):
    """The public view of a `User`; built with `UserOut.of(user)`."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    soul: Soul
    voice: str
    timezone: str
    home_place: HomePlace | None = Field(
        default=None, description="Where the person lives, for the weather."
    )

    @classmethod
    def of(cls, user: User) -> Self:
        return cls.model_validate(user)


class AdminUserOut(UserOut):
    created_at: datetime


class SessionResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    user: UserOut


class SoulPatch(Strict):
    """Any subset of the soul's fields; the rest keep their values."""

    butler_name: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"\S")
    style: Literal["warm", "formal", "casual", "playful"] | None = None
    verbosity: Literal["brief", "balanced", "detailed"] | None = None
    humour: Literal["none", "light", "plenty"] | None = None
    custom_instructions: str | None = Field(default=None, max_length=2000)


class ProfilePatch(Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"\S")
    soul: SoulPatch | None = None
    voice: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    home_place: str | None = Field(
        default=None,
        max_length=100,
        description='A town or city ("Leeds"), found with Open-Meteo; "" clears it.',
    )


class VoiceOption(BaseModel):
    id: str
    label: str


class VoiceTokenRequest(Strict):
    replaces: str | None = Field(
        default=None,
        max_length=128,
        description="A room of one's own that this one replaces (its connection was "
        "lost): its session ends and it closes. Anyone else's room is left alone.",
    )


class VoiceTokenResponse(BaseModel):
    livekit_token: str
    room_name: str
    livekit_url: str
    expires_in: int
    ice_servers: list[str] = Field(
        description="STUN/TURN URLs for the connection; empty: host candidates only."
    )


class VoiceAvailability(BaseModel):
    available: bool
    message: str | None = Field(default=None, description="A sentence for the person.")
    fix: str | None = Field(default=None, description="For admins: what to fix.")


class VoiceStackHealth(BaseModel):
    livekit: str
    worker: str


class RolePatch(Strict):
    role: Role


class InviteCreate(Strict):
    role: Role = Role.MEMBER
    expires_in_days: float = Field(default=7, gt=0, le=90)


class PasswordResetCreate(Strict):
    expires_in_hours: float = Field(default=24, gt=0, le=24 * 7)


class PasswordResetOut(BaseModel):
    code: str = Field(description="Give it to the person as /?reset=<code>; it works once.")
    expires_at: datetime


class PasswordResetRequest(Strict):
    code: str = Field(min_length=1, max_length=64)
    password: str = Field(
        min_length=1,
        max_length=1024,
        description="At least BUTLER_AUTH__PASSWORD_MIN_LENGTH characters (10 unless set).",
    )


class InviteOut(BaseModel):
    id: uuid.UUID
    code: str
    role: Role
    expires_at: datetime


class PendingInviteOut(BaseModel):
    id: uuid.UUID
    role: Role
    created_by: str | None = Field(description="The inviting admin's name, if still here.")
    created_at: datetime
    expires_at: datetime


class ErrorResponse(BaseModel):
    error: str
    message: str


class HealthResponse(BaseModel):
    status: str
    detail: str | None = None
    voice: VoiceStackHealth | None = None


class ChatRequest(Strict):
    message: str = Field(min_length=1, max_length=8000, pattern=r"\S")
    session_id: str | None = Field(default=None, max_length=128)
    temporary: bool = Field(default=False, description="Store nothing of this turn.")


class ChatResponse(BaseModel):
    response: str
    message_id: int | None


class HistoryMessage(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    session_id: str | None
    role: str
    content: str
    created_at: datetime
    metadata: dict[str, Any]

    @classmethod
    def of(cls, entry: object) -> Self:
        return cls.model_validate(entry)


class HistoryPage(BaseModel):
    messages: list[HistoryMessage]
    next_before: int | None = Field(description="Pass as ?before= for the next, older page.")


class VoiceProcessRequest(Strict):
    transcript: str = Field(min_length=1, max_length=8000, pattern=r"\S")
    session_id: str | None = Field(default=None, max_length=128)
    turn_id: str | None = Field(
        default=None,
        max_length=128,
        description="The worker's id for this utterance; a retried turn replaces the earlier one.",
    )


class VoiceProcessResponse(BaseModel):
    response: str
    should_end_turn: bool
    message_id: int | None


class VoiceHomeAction(BaseModel):
    ok: bool = Field(description="the action was carried out")
    said: str = Field(description="what happened, or why not, as a sentence to say")


class VoiceInterrupted(Strict):
    turn_id: str = Field(min_length=1, max_length=128)
    transcript: str = Field(min_length=1, max_length=8000)
    delivered_text: str = Field(max_length=8000)
    session_id: str | None = Field(default=None, max_length=128)


class VoiceProfile(BaseModel):
    """What the voice worker needs to know about the person it is talking with."""

    id: uuid.UUID
    display_name: str
    voice: str
    timezone: str


class VoiceTurnMetrics(Strict):
    """Stage timings of one voice turn, in milliseconds (missing stages stay null)."""

    session_id: str | None = Field(default=None, max_length=128)
    endpointing_ms: int | None = Field(default=None, ge=0, le=600_000)
    stt_ms: int | None = Field(default=None, ge=0, le=600_000)
    llm_first_token_ms: int | None = Field(default=None, ge=0, le=600_000)
    tts_first_byte_ms: int | None = Field(default=None, ge=0, le=600_000)
    first_audio_ms: int | None = Field(default=None, ge=0, le=600_000)
    total_ms: int | None = Field(default=None, ge=0, le=600_000)
    interrupted: bool = False


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries saying that these statuses answer with an ErrorResponse."""
    return {status: {"model": ErrorResponse} for status in statuses}


class FactOut(BaseModel):
    id: uuid.UUID
    fact: str
    category: str
    confidence: float
    source: str = Field(description="user (told or added), or learned (from a conversation)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, fact: object) -> Self:
        return cls.model_validate(fact, from_attributes=True)


class FactPage(BaseModel):
    facts: list[FactOut]
    next_offset: int | None = Field(description="Pass as ?offset= for the next page.")


class FactCreate(Strict):
    fact: str = Field(min_length=1, max_length=500, pattern=r"\S")
    category: str = Field(default="general", min_length=1, max_length=32, pattern=r"^[\w -]+$")
    confidence: float = Field(default=1.0, ge=0, le=1)


class FactPatch(Strict):
    fact: str | None = Field(default=None, min_length=1, max_length=500, pattern=r"\S")
    category: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[\w -]+$")
    confidence: float | None = Field(default=None, ge=0, le=1)


class ForgetResult(BaseModel):
    deleted: dict[str, int] = Field(description="Rows deleted, by kind.")
