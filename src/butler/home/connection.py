"""Where the Home Assistant connection comes from: the settings (which win), or what an
admin saved in the app, its token sealed at rest (secret_box)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from butler.config import HomeAssistantSettings
from butler.db.pool import connection
from butler.errors import ButlerError
from butler.secret_box import SecretBox

Source = Literal["settings", "app", "none"]
HOME_TOKEN_PURPOSE = "home-assistant-token"  # noqa: S105 (a label, not a secret)


class CannotSave(ButlerError):
    code = "home_connection_not_editable"
    status = 409


@dataclass(frozen=True)
class Saved:
    url: str
    sealed_token: str
    updated_at: datetime
    updated_by: uuid.UUID | None


@dataclass(frozen=True)
class Chosen:
    """The connection in force: its source, and url/token when there is one."""

    source: Source
    url: str | None = None
    token: str | None = None
    stamp: datetime | None = None  # the saved row's time, to notice changes
    problem: str | None = None  # why a saved connection cannot be used


class SavedConnection:
    """The single row an admin's choice lives in (butler.home_connection)."""

    def __init__(self, pool: asyncpg.Pool, box: SecretBox | None) -> None:
        self.pool = pool
        self.box = box  # None: no encryption key, so nothing can be saved (production)

    async def load(self) -> Saved | None:
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                """SELECT url, token_encrypted, updated_at, updated_by
                   FROM butler.home_connection"""
            )
        if row is None:
            return None
        return Saved(row["url"], row["token_encrypted"], row["updated_at"], row["updated_by"])

    async def stamp(self) -> datetime | None:
        async with connection(self.pool) as conn:
            found: datetime | None = await conn.fetchval(
                "SELECT updated_at FROM butler.home_connection"
            )
        return found

    async def save(self, url: str, token: str | None, by: uuid.UUID) -> None:
        """Save url and token; a token of None keeps the saved one."""
        if self.box is None:
            raise CannotSave(
                "Saving a Home Assistant token in the app needs BUTLER_AUTH__ENCRYPTION_KEY"
                " (32+ random characters) in the server's settings; or set"
                " BUTLER_HOME_ASSISTANT__URL and BUTLER_HOME_ASSISTANT__TOKEN there instead."
            )
        async with connection(self.pool) as conn:
            if token is None:
                # A saved token is only ever sent to the address it was saved for.
                updated = await conn.execute(
                    """UPDATE butler.home_connection
                       SET updated_by = $2, updated_at = clock_timestamp() WHERE url = $1""",
                    url,
                    by,
                )
                if updated == "UPDATE 0":
                    raise MissingToken(
                        "Enter Home Assistant's long-lived access token (a saved token is"
                        " only used with the address it was saved for)."
                    )
                return
            await conn.execute(
                """INSERT INTO butler.home_connection (url, token_encrypted, updated_by)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (singleton) DO UPDATE
                   SET url = $1, token_encrypted = $2, updated_by = $3,
                       updated_at = clock_timestamp()""",
                url,
                self.box.seal(token),
                by,
            )

    async def delete(self) -> None:
        async with connection(self.pool) as conn:
            await conn.execute("DELETE FROM butler.home_connection")

    def token_of(self, saved: Saved) -> str:
        """The saved token in clear; SecretUnreadable when the key cannot open it."""
        if self.box is None:
            raise CannotSave("BUTLER_AUTH__ENCRYPTION_KEY is not set: the saved token is sealed.")
        return self.box.open(saved.sealed_token)

    async def choose(self, settings: HomeAssistantSettings) -> Chosen:
        """The connection to use now: the settings' when set, else the saved one."""
        if settings.url and settings.token:
            return Chosen("settings", settings.url, settings.token.get_secret_value())
        saved = await self.load()
        if saved is None:
            return Chosen("none")
        try:
            token = self.token_of(saved)
        except ButlerError as exc:
            return Chosen("app", saved.url, None, saved.updated_at, exc.message)
        return Chosen("app", saved.url, token, saved.updated_at)


class MissingToken(ButlerError):
    code = "home_token_required"
    status = 422
