"""Which entities Butler may see and control, as Home Assistant's Assist decides for its
own: sensible defaults by domain, and an admin's choice per entity over them.

Locks, alarm panels, and garage doors, gates and doors among covers are exposed but
need an explicit yes; scripts, automations, cameras and everything else stay hidden
until an admin exposes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

from butler.db.pool import connection
from butler.home.registry import Entity

EXPOSED_DOMAINS = frozenset(
    [
        "light",
        "switch",
        "fan",
        "climate",
        "media_player",
        "cover",
        "scene",
        "sensor",
        "binary_sensor",
        "input_boolean",
        "lock",
        "alarm_control_panel",
    ]
)
CONFIRM_DOMAINS = frozenset(["lock", "alarm_control_panel"])
CONFIRM_COVER_CLASSES = frozenset(["garage", "gate", "door"])
_CACHE_SECONDS = 5.0  # an admin's change reaches every API process within this


@dataclass(frozen=True)
class Exposure:
    exposed: bool
    needs_confirmation: bool
    chosen: bool = False  # set by an admin, not the default


def default_exposure(entity: Entity) -> Exposure:
    confirm = entity.domain in CONFIRM_DOMAINS or (
        entity.domain == "cover" and entity.device_class in CONFIRM_COVER_CLASSES
    )
    return Exposure(entity.domain in EXPOSED_DOMAINS, confirm)


class ExposureStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._choices: dict[str, Exposure] = {}
        self._loaded_at = float("-inf")

    async def refresh(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._loaded_at < _CACHE_SECONDS:
            return
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT entity_id, exposed, needs_confirmation FROM butler.home_entities"
            )
        self._choices = {
            r["entity_id"]: Exposure(r["exposed"], r["needs_confirmation"], chosen=True)
            for r in rows
        }
        self._loaded_at = time.monotonic()

    def of(self, entity: Entity) -> Exposure:
        """The admin's choice, else the default (call `refresh` first in each turn)."""
        return self._choices.get(entity.entity_id) or default_exposure(entity)

    async def choose(self, entity_id: str, *, exposed: bool, needs_confirmation: bool) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(
                """INSERT INTO butler.home_entities (entity_id, exposed, needs_confirmation)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (entity_id) DO UPDATE
                   SET exposed = $2, needs_confirmation = $3, updated_at = now()""",
                entity_id,
                exposed,
                needs_confirmation,
            )
        await self.refresh(force=True)

    async def reset(self, entity_id: str) -> None:
        async with connection(self._pool) as conn:
            await conn.execute("DELETE FROM butler.home_entities WHERE entity_id = $1", entity_id)
        await self.refresh(force=True)
