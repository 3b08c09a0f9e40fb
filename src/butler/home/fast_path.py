"""The fast path: a home command understood without a language model.

The words are matched with hassil against Home Assistant's own English sentence
templates (home-assistant-intents), with slot lists built from the live registry: the
names and aliases of the entities the person may use, the areas and the floors. Only a
confident, unambiguous match of a safe intent becomes a Plan; anything else (no match,
a name shared by two devices, "turn on the lights" with no room, a lock or a garage
door) returns None, which sends the turn to the LLM.

Slot lists are rebuilt only when the registry's names change or the set of entities
the person may use does. Matching is CPU work: callers run it off the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from hassil.intents import Intents, SlotList, TextSlotList
from hassil.recognize import RecognizeResult, recognize_best
from home_assistant_intents import get_intents

from butler.home.actions import Request
from butler.home.registry import Area, Entity, Floor

# Intents the fast path may carry out or answer; the rest go to the LLM.
ACTING_INTENTS = frozenset(
    ["HassTurnOn", "HassTurnOff", "HassLightSet", "HassClimateSetTemperature"]
)
READING_INTENTS = frozenset(["HassGetState", "HassClimateGetTemperature"])
# Never acted on by the fast path, whatever an admin chose: the LLM and a yes do that.
UNSAFE_DOMAINS = frozenset(["lock", "alarm_control_panel", "script", "automation"])


@dataclass(frozen=True)
class Plan:
    intent: str
    entity_ids: tuple[str, ...]
    request: Request | None  # None: a question about their state


@cache
def english_intents() -> tuple[Intents, tuple[str, ...]]:
    data = get_intents("en")
    if data is None:  # the package always ships English
        raise RuntimeError("home-assistant-intents has no English sentences")
    # Only the intents the fast path handles: every other sentence template would be
    # tried, and matched, for nothing (the LLM answers those). Halves the matching time.
    wanted = ACTING_INTENTS | READING_INTENTS
    intents = {
        name: {**intent, "data": [d for d in intent["data"] if _can_match(name, d)]}
        for name, intent in data["intents"].items()
        if name in wanted
    }
    data = {**data, "intents": intents}
    return Intents.from_dict(data), tuple(data.get("skip_words") or ())


def _can_match(intent: str, data: dict[str, Any]) -> bool:
    """Whether a group of templates could ever give a Plan. Two kinds cannot, and only
    cost time: those needing the speaker's area from context (a satellite's room, which
    Butler does not pass), and acting ones whose every domain is never acted on here."""
    required = data.get("requires_context") or {}
    if set(required) - {"domain"}:
        return False
    domains = required.get("domain")
    if intent in ACTING_INTENTS and domains:
        listed = {domains} if isinstance(domains, str) else set(domains)
        return not listed <= UNSAFE_DOMAINS
    return True


def _slot_lists(
    entities: Sequence[Entity], areas: Sequence[Area], floors: Sequence[Floor]
) -> dict[str, SlotList]:
    names: list[tuple[str, Any, dict[str, Any]]] = []
    for entity in entities:
        context = {"domain": entity.domain}
        if entity.device_class:
            context["device_class"] = entity.device_class
        names += [(name, entity.entity_id, context) for name in entity.names if name.strip()]
    return {
        # Names are plain text: "(", "[" or "|" in a name must not be read as a template.
        "name": TextSlotList.from_tuples(names, allow_template=False, name="name"),
        "area": TextSlotList.from_tuples(
            [(n, a.id) for a in areas for n in a.names if n.strip()],
            allow_template=False,
            name="area",
        ),
        "floor": TextSlotList.from_tuples(
            [(n, f.id) for f in floors for n in (f.name, *f.aliases) if n.strip()],
            allow_template=False,
            name="floor",
        ),
    }


class FastPath:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists_key: tuple[Any, ...] | None = None
        self._lists: dict[str, SlotList] = {}

    def warm(self) -> None:
        """Load the sentence templates (a second or so) before the first command."""
        english_intents()

    def plan(
        self,
        text: str,
        entities: Sequence[Entity],
        areas: Sequence[Area],
        floors: Sequence[Floor],
        generation: int,
        needs_yes: frozenset[str] = frozenset(),
    ) -> Plan | None:
        """`entities`: those the person may use; `needs_yes`: the ids among them that
        need a confirmation (never acted on here, only read)."""
        intents, skip_words = english_intents()
        key = (generation, tuple(e.entity_id for e in entities))
        with self._lock:
            if key != self._lists_key:
                self._lists = _slot_lists(entities, areas, floors)
                self._lists_key = key
            lists = self._lists
        result = recognize_best(
            text,
            intents,
            slot_lists=lists,
            skip_words=skip_words,
            language="en",
            best_slot_name="name",
        )
        if result is None or result.intent.name not in ACTING_INTENTS | READING_INTENTS:
            return None
        return _resolve(result, entities, needs_yes)


def _value(result: RecognizeResult, slot: str) -> Any:
    entity = result.entities.get(slot)
    return None if entity is None or entity.is_wildcard else entity.value


def _targets(result: RecognizeResult, entities: Sequence[Entity]) -> list[Entity]:
    domain, device_class = _value(result, "domain"), _value(result, "device_class")
    name, area, floor = _value(result, "name"), _value(result, "area"), _value(result, "floor")
    if name is not None:
        chosen = [e for e in entities if e.entity_id == name]
        said = result.entities["name"].text_clean.lower()
        kind = chosen[0].domain if chosen else ""
        same_name = [
            e for e in entities if e.domain == kind and said in (n.lower() for n in e.names)
        ]
        if len(same_name) > 1:
            return []  # two devices answer to that name: the LLM asks which
    elif area is not None or floor is not None:
        chosen = [
            e
            for e in entities
            if e.area is not None
            and (area is None or e.area.id == area)
            and (floor is None or e.area.floor_id == floor)
        ]
    else:
        return []  # "turn on the lights" with no room: the LLM asks where
    domains = _as_set(domain)
    classes = _as_set(device_class)
    return [
        e
        for e in chosen
        if (not domains or e.domain in domains) and (not classes or e.device_class in classes)
    ]


def _as_set(value: Any) -> set[str]:
    if value is None:
        return set()
    return {str(v) for v in value} if isinstance(value, list | tuple | set) else {str(value)}


def _resolve(
    result: RecognizeResult, entities: Sequence[Entity], needs_yes: frozenset[str]
) -> Plan | None:
    intent = result.intent.name
    chosen = _targets(result, entities)
    if intent == "HassClimateSetTemperature":
        chosen = [e for e in chosen if e.domain == "climate"]  # "the bedroom": its thermostat
    if not chosen:
        return None
    ids = tuple(e.entity_id for e in chosen)
    if intent in ACTING_INTENTS and any(
        e.domain in UNSAFE_DOMAINS or e.entity_id in needs_yes for e in chosen
    ):
        return None  # a lock, a garage door: the LLM asks, the person says yes
    if intent in READING_INTENTS:
        if intent == "HassClimateGetTemperature":
            chosen = [e for e in chosen if e.domain in ("climate", "sensor")]
            if not chosen:
                return None
            ids = tuple(e.entity_id for e in chosen)
        return Plan(intent, ids, None)
    request = _request(intent, result, chosen)
    return Plan(intent, ids, request) if request is not None else None


def _request(intent: str, result: RecognizeResult, chosen: Sequence[Entity]) -> Request | None:
    domains = {e.domain for e in chosen}
    if intent in ("HassTurnOn", "HassTurnOff"):
        on = intent == "HassTurnOn"
        if domains == {"cover"}:
            return Request("open" if on else "close")
        if domains <= {"scene"}:
            return Request("activate") if on else None
        if "cover" in domains or "scene" in domains or "sensor" in domains:
            return None  # a mixture the words do not say how to treat
        return Request("turn_on" if on else "turn_off")
    if intent == "HassLightSet" and domains == {"light"}:
        brightness, colour = _value(result, "brightness"), _value(result, "color")
        if brightness is not None:
            return Request("set_brightness", value=float(brightness))
        if colour is not None:
            return Request("set_color", text=str(colour))
        return None
    if intent == "HassClimateSetTemperature" and domains == {"climate"}:
        temperature = _value(result, "temperature")
        return Request("set_temperature", value=float(temperature)) if temperature else None
    return None
