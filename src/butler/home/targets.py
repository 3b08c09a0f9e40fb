"""Finding entities the way people name them: "kitchen lights" is every light in the
kitchen (`light.kitchen_ceiling` among them), "the front door" is the entity named or
aliased so, "bedroom heating" the climate entity in the bedroom. Words are compared
forgivingly (plurals, small misspellings such as a transcription's "kichen").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from butler.home.registry import Area, Entity

# Words that name a kind of device rather than one device.
DOMAIN_WORDS: dict[str, frozenset[str]] = {
    "light": frozenset(["light", "lamp", "lighting", "bulb"]),
    "switch": frozenset(["switch", "plug", "socket", "outlet"]),
    "fan": frozenset(["fan"]),
    "climate": frozenset(["heating", "heater", "thermostat", "radiator", "ac", "climate"]),
    "cover": frozenset(["blind", "curtain", "shade", "shutter", "cover", "awning"]),
    "media_player": frozenset(["tv", "television", "speaker", "player", "stereo"]),
    "lock": frozenset(["lock"]),
    "scene": frozenset(["scene"]),
    "sensor": frozenset(["sensor"]),
}
_FILLER = frozenset(["the", "a", "an", "my", "our", "all", "of", "in", "please", "every", "each"])
_WORD = re.compile(r"[a-z0-9']+")
_CLOSE_ENOUGH = 0.84


def words(text: str) -> list[str]:
    return [_singular(w) for w in _WORD.findall(text.lower()) if w not in _FILLER]


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return SequenceMatcher(None, a, b).ratio() >= _CLOSE_ENOUGH


def _covers(wanted: list[str], offered: list[str]) -> bool:
    return all(any(same_word(w, o) for o in offered) for w in wanted)


@dataclass(frozen=True)
class Query:
    area: Area | None
    domains: frozenset[str]
    name_words: tuple[str, ...]


def find_area(areas: Iterable[Area], text: str) -> tuple[Area | None, list[str]]:
    """The area named in the text (the longest name that fits) and the words left."""
    said = words(text)
    best: tuple[int, Area, list[str]] | None = None
    for area in areas:
        for name in area.names:
            name_words = words(name)
            if not name_words:
                continue
            for start in range(len(said) - len(name_words) + 1):
                window = said[start : start + len(name_words)]
                if all(same_word(a, b) for a, b in zip(window, name_words, strict=True)):
                    rest = said[:start] + said[start + len(name_words) :]
                    if best is None or len(name_words) > best[0]:
                        best = (len(name_words), area, rest)
    if best is None:
        return None, said
    return best[1], best[2]


def parse(areas: Iterable[Area], text: str, area_text: str = "") -> Query:
    area_list = list(areas)
    area, rest = find_area(area_list, text)
    if area_text:
        named, _ = find_area(area_list, area_text)
        area = named or area
    domains = frozenset(d for d, kinds in DOMAIN_WORDS.items() if any(w in kinds for w in rest))
    kind_words = set().union(*(DOMAIN_WORDS[d] for d in domains)) if domains else set()
    return Query(area, domains, tuple(w for w in rest if w not in kind_words))


def matches(entity: Entity, query: Query) -> bool:
    if query.area is not None and (entity.area is None or entity.area.id != query.area.id):
        return False
    if query.domains and entity.domain not in query.domains:
        return False
    if not query.name_words:
        return query.area is not None or bool(query.domains)
    offered = [w for name in entity.names for w in words(name)]
    if entity.area is not None:
        offered += [w for name in entity.area.names for w in words(name)]
    return _covers(list(query.name_words), offered)


def exact_name(entity: Entity, text: str) -> bool:
    said = words(text)
    return any(words(name) == said for name in entity.names)


def find(
    entities: Iterable[Entity], areas: Iterable[Area], text: str, area: str = ""
) -> list[Entity]:
    """The entities the words name. An exact name or alias wins over partial matches."""
    candidates = list(entities)
    exact = [e for e in candidates if exact_name(e, text)]
    if exact:
        return exact
    query = parse(areas, text, area)
    return [e for e in candidates if matches(e, query)]
