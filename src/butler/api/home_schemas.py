"""Request and response bodies of the home routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field

from butler.api.schemas import Strict

# A Home Assistant domain or area id.
HomeId = Annotated[str, Field(pattern=r"^[a-z0-9_]+$", min_length=1, max_length=64)]


def _home_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValueError("must be Home Assistant's address, like http://homeassistant.local:8123")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not hold a user name, password, query or fragment")
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return value.rstrip("/")


HomeUrl = Annotated[
    str,
    Field(min_length=8, max_length=2000, pattern=r"^[\x21-\x7e]+$"),
    AfterValidator(_home_url),
]
# A long-lived access token: printable characters without spaces.
HomeToken = Annotated[str, Field(min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$")]


class HomeStatus(BaseModel):
    configured: bool
    state: str = Field(
        description="not_configured, unreadable (the saved token cannot be decrypted), "
        "connecting, connected, retrying (unreachable), refused (the token was refused: an "
        "admin must set a new one) or stopped"
    )
    source: Literal["settings", "app", "none"] = Field(
        description="where the connection comes from: the server's settings, the app, none"
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


class HomeConnectionOut(BaseModel):
    source: Literal["settings", "app", "none"]
    url: str | None
    token_saved: bool = Field(description="a token is set (it is never returned)")
    editable: bool = Field(
        description="false when the server's settings set the connection: they win"
    )
    updated_at: datetime | None


class HomeConnectionBody(Strict):
    url: HomeUrl
    token: HomeToken | None = Field(
        default=None, description="omit to keep the saved token (same address only)"
    )


class HomeConnectionTestBody(Strict):
    url: HomeUrl | None = Field(default=None, description="omit: the address in use")
    token: HomeToken | None = Field(
        default=None, description="omit: the token in use (for the same address only)"
    )


class HomeConnectionTestOut(BaseModel):
    ok: bool
    version: str | None = Field(description="Home Assistant's version, when signed in")
    error: str | None = Field(description="what failed, as a sentence")
