"""User, role and soul (the butler's personality for one person)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from butler.errors import InvalidInput
from butler.users.voices import VOICES


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class Soul(BaseModel):
    """How the butler speaks to this person. Stored as JSON in users.soul."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    butler_name: str = Field(default="Butler", min_length=1, max_length=40)
    style: Literal["warm", "formal", "casual", "playful"] = "warm"
    verbosity: Literal["brief", "balanced", "detailed"] = "balanced"
    humour: Literal["none", "light", "plenty"] = "light"
    custom_instructions: str = Field(default="", max_length=2000)


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    soul: Soul
    voice: str
    timezone: str
    created_at: datetime
    updated_at: datetime
    # {name, latitude, longitude}: where the person lives, for the weather; None: unset.
    home_place: dict[str, Any] | None = None

    @classmethod
    def from_record(cls, record: Any) -> User:
        return cls(
            id=record["id"],
            username=record["username"],
            display_name=record["display_name"],
            role=Role(record["role"]),
            soul=Soul.model_validate(record["soul"] or {}),
            voice=record["voice"],
            timezone=record["timezone"],
            created_at=record["created_at"],
            updated_at=record["updated_at"],
            home_place=record["home_place"],
        )

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"'{name}' is not an IANA timezone; use a name such as 'Europe/London'.",
            code="invalid_timezone",
        ) from None
    return name


def validate_voice(voice: str) -> str:
    if voice not in VOICES:
        raise InvalidInput(
            f"'{voice}' is not a known voice; choose one of: {', '.join(sorted(VOICES))}.",
            code="invalid_voice",
        )
    return voice
