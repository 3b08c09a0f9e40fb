"""Request and response bodies of the home routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from butler.api.schemas import Strict

# A Home Assistant domain or area id.
HomeId = Annotated[str, Field(pattern=r"^[a-z0-9_]+$", min_length=1, max_length=64)]


class HomeStatus(BaseModel):
    configured: bool
    state: str = Field(
        description="not_configured, connecting, connected, retrying (unreachable), "
        "refused (the token was refused: an admin must set a new one) or stopped"
    )
    url: str | None = Field(default=None, description="admins only")
    version: str | None = Field(default=None, description="admins only")
    error: str | None = Field(default=None, description="admins only: the last failure")
    entities: int | None = Field(default=None, description="admins only")


class HomeEntityOut(BaseModel):
    entity_id: str
    name: str
    domain: str
    area: str | None
    area_id: str | None
    state: str | None
    exposed: bool
    needs_confirmation: bool
    chosen: bool = Field(description="set by an admin (false: the default for its kind)")


class HomeEntityChoice(Strict):
    exposed: bool
    needs_confirmation: bool


class HomePermissionsBody(Strict):
    areas: list[HomeId] | None = Field(
        default=None, max_length=200, description="area ids the person may use; null: all"
    )
    domains: list[HomeId] | None = Field(
        default=None, max_length=100, description="domains (light, lock, ...); null: all"
    )


class HomePermissionsOut(BaseModel):
    areas: list[str] | None
    domains: list[str] | None
