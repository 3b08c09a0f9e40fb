"""What can be done to an entity, as Home Assistant service calls, and how to say what
happened. Values are checked here (brightness 0 to 100, a known colour, a temperature in
the device's range), so a bad one is a sentence, not a failed call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from butler.home.errors import HomeCommandFailed
from butler.home.registry import Entity

Action = Literal[
    "turn_on",
    "turn_off",
    "toggle",
    "open",
    "close",
    "stop",
    "lock",
    "unlock",
    "set_brightness",
    "set_color",
    "set_temperature",
    "set_hvac_mode",
    "set_position",
    "play",
    "pause",
    "set_volume",
    "activate",
]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]

HVAC_MODES = frozenset(["off", "heat", "cool", "heat_cool", "auto", "dry", "fan_only"])
# A few colour names Home Assistant's light.turn_on accepts (CSS3 names); others go as is
# and Home Assistant judges them.
_ON_OFF_DOMAINS = frozenset(
    ["light", "switch", "fan", "input_boolean", "media_player", "climate", "automation"]
)


@dataclass(frozen=True)
class Request:
    action: Action
    value: float | None = None  # brightness/position/volume percent, or a temperature
    text: str | None = None  # a colour name or an HVAC mode


@dataclass(frozen=True)
class ServiceCall:
    domain: str
    service: str
    data: dict[str, Any] = field(default_factory=dict)


def _percent(value: float | None, what: str) -> int:
    if value is None or not 0 <= value <= 100:
        raise HomeCommandFailed(f"The {what} must be between 0 and 100 percent.")
    return round(value)


def service_for(entity: Entity, request: Request) -> ServiceCall:
    """The service call for this action on this entity; HomeCommandFailed if it does
    not apply ("you can't lock a lamp")."""
    domain, action = entity.domain, request.action
    if domain == "scene" or domain == "script":
        if action in ("turn_on", "activate"):
            return ServiceCall(domain, "turn_on")
    elif domain == "cover":
        simple = {"open": "open_cover", "turn_on": "open_cover", "close": "close_cover"}
        simple |= {"turn_off": "close_cover", "stop": "stop_cover", "toggle": "toggle"}
        if action in simple:
            return ServiceCall(domain, simple[action])
        if action == "set_position":
            return ServiceCall(
                domain, "set_cover_position", {"position": _percent(request.value, "position")}
            )
    elif domain == "lock":
        if action in ("lock", "unlock"):
            return ServiceCall(domain, action)
    elif domain == "climate":
        if action == "set_temperature":
            return ServiceCall(
                domain, "set_temperature", {"temperature": _temperature(entity, request)}
            )
        if action == "set_hvac_mode":
            mode = (request.text or "").strip().lower().replace(" ", "_")
            if mode not in HVAC_MODES:
                raise HomeCommandFailed(f"The mode must be one of {', '.join(sorted(HVAC_MODES))}.")
            return ServiceCall(domain, "set_hvac_mode", {"hvac_mode": mode})
    elif domain == "light":
        if action == "set_brightness":
            return ServiceCall(
                domain, "turn_on", {"brightness_pct": _percent(request.value, "brightness")}
            )
        if action == "set_color":
            colour = (request.text or "").strip().lower()
            if not colour or not all(c.isalpha() or c == " " for c in colour):
                raise HomeCommandFailed(
                    "Say the colour by its name, such as 'warm white' or 'blue'."
                )
            return ServiceCall(domain, "turn_on", {"color_name": colour.replace(" ", "")})
    elif domain == "media_player":
        media = {"play": "media_play", "pause": "media_pause", "stop": "media_stop"}
        if action in media:
            return ServiceCall(domain, media[action])
        if action == "set_volume":
            return ServiceCall(
                domain, "volume_set", {"volume_level": _percent(request.value, "volume") / 100}
            )
    if domain in _ON_OFF_DOMAINS and action in ("turn_on", "turn_off", "toggle"):
        return ServiceCall(domain, action)
    raise HomeCommandFailed(f"I can't {action.replace('_', ' ')} {entity.name}.")


def _temperature(entity: Entity, request: Request) -> float:
    value = request.value
    attributes = entity.state.attributes if entity.state else {}
    low = float(attributes.get("min_temp", 5))
    high = float(attributes.get("max_temp", 35))
    if value is None or not low <= value <= high:
        raise HomeCommandFailed(f"{entity.name} can be set between {low:g} and {high:g} degrees.")
    return value


def describe_state(entity: Entity) -> str:
    """'Kitchen Ceiling is on (brightness 40%)', for the person and the model."""
    if entity.state is None:
        return f"{entity.name}: no state known"
    state, attributes = entity.state.state, entity.state.attributes
    details: list[str] = []
    unit = attributes.get("unit_of_measurement")
    if unit:
        return f"{entity.name} is {state} {unit}"
    if entity.domain == "light" and state == "on" and attributes.get("brightness") is not None:
        details.append(f"brightness {round(int(attributes['brightness']) * 100 / 255)}%")
    if entity.domain == "climate":
        if attributes.get("current_temperature") is not None:
            details.append(f"currently {attributes['current_temperature']}°")
        if attributes.get("temperature") is not None:
            details.append(f"set to {attributes['temperature']}°")
    if entity.domain == "cover" and attributes.get("current_position") is not None:
        details.append(f"position {attributes['current_position']}%")
    if entity.domain == "media_player" and attributes.get("volume_level") is not None:
        details.append(f"volume {round(float(attributes['volume_level']) * 100)}%")
    extra = f" ({', '.join(details)})" if details else ""
    return f"{entity.name} is {state.replace('_', ' ')}{extra}"
