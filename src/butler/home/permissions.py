"""What each person may control: the areas and domains an admin allows them (no row:
everything exposed). Reading a state is allowed wherever controlling it is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from butler.home.registry import Entity


@dataclass(frozen=True)
class Permissions:
    areas: frozenset[str] | None = None  # area ids; None: every area
    domains: frozenset[str] | None = None  # None: every domain

    def allows(self, entity: Entity) -> bool:
        if self.domains is not None and entity.domain not in self.domains:
            return False
        if self.areas is not None:
            return entity.area is not None and entity.area.id in self.areas
        return True


EVERYTHING = Permissions()


async def permissions_of(conn: asyncpg.Connection, user_id: uuid.UUID) -> Permissions:
    row = await conn.fetchrow(
        "SELECT areas, domains FROM butler.home_permissions WHERE user_id = $1", user_id
    )
    if row is None:
        return EVERYTHING
    return Permissions(
        frozenset(row["areas"]) if row["areas"] is not None else None,
        frozenset(row["domains"]) if row["domains"] is not None else None,
    )


async def set_permissions(
    conn: asyncpg.Connection, user_id: uuid.UUID, permissions: Permissions
) -> None:
    await conn.execute(
        """INSERT INTO butler.home_permissions (user_id, areas, domains) VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE SET areas = $2, domains = $3, updated_at = now()""",
        user_id,
        sorted(permissions.areas) if permissions.areas is not None else None,
        sorted(permissions.domains) if permissions.domains is not None else None,
    )
