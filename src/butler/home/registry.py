"""The live picture of the home: Home Assistant's areas, floors, devices, entities and
their states, kept current by state_changed events (no request per turn).

Built from the raw answers of the WebSocket API (`config/*_registry/list`, `get_states`)
so it can be filled by the client or, in tests, by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    floor_id: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Floor:
    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityState:
    state: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    last_changed: str | None = None


@dataclass(frozen=True)
class Entity:
    """An entity as a person would name it, with where it is and how it is now."""

    entity_id: str
    name: str
    aliases: tuple[str, ...]
    area: Area | None
    state: EntityState | None

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def device_class(self) -> str | None:
        value = self.state.attributes.get("device_class") if self.state else None
        return str(value) if value else None

    @property
    def available(self) -> bool:
        return self.state is not None and self.state.state not in ("unavailable", "unknown")


@dataclass(frozen=True)
class _EntityEntry:
    entity_id: str
    name: str | None
    original_name: str | None
    aliases: tuple[str, ...]
    area_id: str | None
    device_id: str | None
    hidden: bool


def _aliases(raw: Any) -> tuple[str, ...]:
    return tuple(str(a) for a in raw or () if isinstance(a, str) and a.strip())


def _readable(entity_id: str) -> str:
    return entity_id.split(".", 1)[-1].replace("_", " ")


class HomeRegistry:
    def __init__(self) -> None:
        self.areas: dict[str, Area] = {}
        self.floors: dict[str, Floor] = {}
        self._device_areas: dict[str, str | None] = {}
        self._entries: dict[str, _EntityEntry] = {}
        self._states: dict[str, EntityState] = {}
        # Bumped whenever names, areas or the set of entities change (not on states):
        # what is built from names (the fast path's slot lists) is rebuilt on a new one.
        self.generation = 0
        self._listed: list[Entity] | None = None  # entities(), until anything changes

    def clear(self) -> None:
        """Forget everything (the connection changed to another Home Assistant)."""
        self.areas, self.floors = {}, {}
        self._device_areas, self._entries, self._states = {}, {}, {}
        self._changed(names=True)

    def load_registries(
        self,
        *,
        areas: Iterable[Mapping[str, Any]],
        floors: Iterable[Mapping[str, Any]],
        devices: Iterable[Mapping[str, Any]],
        entities: Iterable[Mapping[str, Any]],
    ) -> None:
        self.floors = {
            f["floor_id"]: Floor(
                f["floor_id"], f.get("name") or f["floor_id"], _aliases(f.get("aliases"))
            )
            for f in floors
        }
        self.areas = {
            a["area_id"]: Area(
                a["area_id"],
                a.get("name") or a["area_id"],
                _aliases(a.get("aliases")),
                a.get("floor_id"),
            )
            for a in areas
        }
        self._device_areas = {d["id"]: d.get("area_id") for d in devices}
        self._entries = {
            e["entity_id"]: _EntityEntry(
                entity_id=e["entity_id"],
                name=e.get("name"),
                original_name=e.get("original_name"),
                aliases=_aliases(e.get("aliases")),
                area_id=e.get("area_id"),
                device_id=e.get("device_id"),
                hidden=bool(e.get("hidden_by")),
            )
            for e in entities
            if not e.get("disabled_by") and not e.get("entity_category")
        }
        self._changed(names=True)

    def add_aliases(self, aliases: Mapping[str, Iterable[str]]) -> None:
        """Aliases come from a second command (`config/entity_registry/get_entries`)."""
        for entity_id, names in aliases.items():
            entry = self._entries.get(entity_id)
            if entry is not None:
                self._entries[entity_id] = _EntityEntry(
                    **{**entry.__dict__, "aliases": _aliases(names)}
                )
        self._changed(names=True)

    def load_states(self, states: Iterable[Mapping[str, Any]]) -> None:
        before = set(self._states)
        self._states = {s["entity_id"]: _state(s) for s in states if "entity_id" in s}
        self._changed(names=set(self._states) != before)

    def apply_state_changed(self, data: Mapping[str, Any]) -> None:
        entity_id = data.get("entity_id")
        if not isinstance(entity_id, str):
            return
        new = data.get("new_state")
        if new is None:
            if self._states.pop(entity_id, None) is not None:
                self._changed(names=True)
            return
        known = entity_id in self._states
        self._states[entity_id] = _state(new)
        self._changed(names=not known)

    def _changed(self, *, names: bool) -> None:
        self._listed = None
        if names:
            self.generation += 1

    def entity(self, entity_id: str) -> Entity | None:
        entry = self._entries.get(entity_id)
        state = self._states.get(entity_id)
        if entry is None and state is None:
            return None
        if entry is not None and entry.hidden:
            return None
        friendly = state.attributes.get("friendly_name") if state else None
        name = (
            (entry.name if entry else None)
            or (str(friendly) if friendly else None)
            or (entry.original_name if entry else None)
            or _readable(entity_id)
        )
        area_id = None
        if entry is not None:
            area_id = entry.area_id or self._device_areas.get(entry.device_id or "")
        return Entity(
            entity_id=entity_id,
            name=name,
            aliases=entry.aliases if entry else (),
            area=self.areas.get(area_id) if area_id else None,
            state=state,
        )

    def entities(self) -> list[Entity]:
        if self._listed is None:
            ids = sorted(set(self._entries) | set(self._states))
            self._listed = [e for e in (self.entity(i) for i in ids) if e is not None]
        return list(self._listed)

    def floor_of(self, area: Area | None) -> Floor | None:
        return self.floors.get(area.floor_id) if area and area.floor_id else None


def _state(raw: Mapping[str, Any]) -> EntityState:
    attributes = raw.get("attributes")
    return EntityState(
        state=str(raw.get("state", "unknown")),
        attributes=dict(attributes) if isinstance(attributes, Mapping) else {},
        last_changed=raw.get("last_changed"),
    )
