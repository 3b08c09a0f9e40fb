"""Finding devices by the words people use, the fast path's intents, and the yes rule."""

from __future__ import annotations

import pytest

from butler.home.actions import Request, describe_state, service_for
from butler.home.errors import HomeCommandFailed
from butler.home.fast_path import FastPath, Plan
from butler.home.registry import Entity, HomeRegistry
from butler.home.service import is_yes
from butler.home.targets import find
from tests.fakes.home_assistant import family_house


@pytest.fixture(scope="module")
def registry() -> HomeRegistry:
    return family_house().registry()


def ids(entities: list[Entity]) -> set[str]:
    return {e.entity_id for e in entities}


@pytest.mark.parametrize(
    ("words", "area", "expected"),
    [
        ("kitchen lights", "", {"light.kitchen_ceiling", "light.kitchen_counter"}),
        ("the kichen light", "", {"light.kitchen_ceiling", "light.kitchen_counter"}),  # misheard
        ("Front Door", "", {"lock.front_door"}),
        ("bedroom heating", "", {"climate.bedroom"}),  # an alias
        ("heating", "bedroom", {"climate.bedroom"}),
        ("reading lamp", "", {"light.living_room_lamp"}),
        ("lamp", "lounge", {"light.living_room_lamp"}),  # an area's alias
        ("ceiling", "", {"light.kitchen_ceiling"}),
        ("dishwasher", "", set()),
    ],
)
def test_devices_are_found_as_people_name_them(
    registry: HomeRegistry, words: str, area: str, expected: set[str]
) -> None:
    assert ids(find(registry.entities(), registry.areas.values(), words, area)) == expected


def test_a_device_takes_its_area_from_its_device(registry: HomeRegistry) -> None:
    counter = registry.entity("light.kitchen_counter")
    assert counter is not None and counter.area is not None and counter.area.id == "kitchen"


def test_state_changes_update_the_picture_without_a_new_load() -> None:
    registry = family_house().registry()
    generation = registry.generation
    registry.apply_state_changed(
        {"entity_id": "light.bedroom", "new_state": {"state": "on", "attributes": {}}}
    )
    light = registry.entity("light.bedroom")
    assert light is not None and light.state is not None and light.state.state == "on"
    assert registry.generation == generation  # names unchanged: slot lists stay
    registry.apply_state_changed({"entity_id": "light.bedroom", "new_state": None})
    assert registry.generation == generation + 1


@pytest.mark.parametrize(
    ("entity_id", "request_", "expected"),
    [
        (
            "light.bedroom",
            Request("set_brightness", 40),
            ("light", "turn_on", {"brightness_pct": 40}),
        ),
        ("cover.garage_door", Request("open"), ("cover", "open_cover", {})),
        (
            "climate.bedroom",
            Request("set_temperature", 20),
            ("climate", "set_temperature", {"temperature": 20}),
        ),
        ("lock.front_door", Request("unlock"), ("lock", "unlock", {})),
        (
            "media_player.living_room_tv",
            Request("set_volume", 30),
            ("media_player", "volume_set", {"volume_level": 0.3}),
        ),
    ],
)
def test_actions_become_service_calls(
    registry: HomeRegistry,
    entity_id: str,
    request_: Request,
    expected: tuple[str, str, dict[str, object]],
) -> None:
    entity = registry.entity(entity_id)
    assert entity is not None
    call = service_for(entity, request_)
    assert (call.domain, call.service, call.data) == expected


@pytest.mark.parametrize(
    ("entity_id", "request_", "says"),
    [
        ("light.bedroom", Request("lock"), "can't lock"),
        ("light.bedroom", Request("set_brightness", 140), "between 0 and 100"),
        ("climate.bedroom", Request("set_temperature", 45), "between 7 and 30"),
        ("climate.bedroom", Request("set_hvac_mode", text="sauna"), "mode must be"),
        ("light.bedroom", Request("set_color", text="#ff0000; drop"), "colour by its name"),
    ],
)
def test_impossible_actions_are_sentences(
    registry: HomeRegistry, entity_id: str, request_: Request, says: str
) -> None:
    entity = registry.entity(entity_id)
    assert entity is not None
    with pytest.raises(HomeCommandFailed, match=says):
        service_for(entity, request_)


def test_states_are_described_for_people(registry: HomeRegistry) -> None:
    thermostat = registry.entity("climate.bedroom")
    sensor = registry.entity("sensor.bedroom_temperature")
    assert thermostat is not None and sensor is not None
    assert describe_state(thermostat) == "Bedroom Thermostat is heat (currently 18.5°, set to 19°)"
    assert describe_state(sensor) == "Bedroom Temperature is 18.5 °C"


def plan(registry: HomeRegistry, text: str, needs_yes: frozenset[str] = frozenset()) -> Plan | None:
    visible = [e for e in registry.entities() if e.domain != "camera"]
    return FastPath().plan(
        text,
        visible,
        list(registry.areas.values()),
        list(registry.floors.values()),
        registry.generation,
        needs_yes,
    )


@pytest.mark.parametrize(
    ("text", "entity_ids", "action", "value"),
    [
        (
            "Turn off the kitchen lights.",
            {"light.kitchen_ceiling", "light.kitchen_counter"},
            "turn_off",
            None,
        ),
        ("turn on the reading lamp", {"light.living_room_lamp"}, "turn_on", None),
        ("switch on the coffee machine please", {"switch.coffee_machine"}, "turn_on", None),
        ("set the bedroom light to 30%", {"light.bedroom"}, "set_brightness", 30),
        ("Set the bedroom temperature to 20 degrees", {"climate.bedroom"}, "set_temperature", 20),
        ("turn off the lights in the lounge", {"light.living_room_lamp"}, "turn_off", None),
    ],
)
def test_the_fast_path_understands_home_commands(
    registry: HomeRegistry, text: str, entity_ids: set[str], action: str, value: float | None
) -> None:
    found = plan(registry, text)
    assert found is not None and found.request is not None, text
    assert set(found.entity_ids) == entity_ids
    assert found.request.action == action and found.request.value == value


def test_the_fast_path_answers_questions_about_state(registry: HomeRegistry) -> None:
    found = plan(registry, "Is the front door locked?")
    assert found is not None and found.request is None
    assert found.entity_ids == ("lock.front_door",)


@pytest.mark.parametrize(
    "text",
    [
        "turn on the lights",  # no room: which lights?
        "unlock the front door",  # needs a yes
        "open the garage door",  # needs a yes (a garage door)
        "what's the weather like tomorrow?",
        "remind me to turn off the kitchen lights at six",  # not a command now
        "turn on the dishwasher",  # no such device
    ],
)
def test_the_fast_path_leaves_the_rest_to_the_llm(registry: HomeRegistry, text: str) -> None:
    assert plan(registry, text, frozenset(["cover.garage_door"])) is None


def test_two_devices_with_one_name_are_left_to_the_llm() -> None:
    house = family_house()
    house.entity("light.guest_bedroom", "Bedroom Light", "off")
    assert plan(house.registry(), "turn on the bedroom light") is None


@pytest.mark.parametrize("text", ["Yes.", "yes please", "Yeah, do it", "go ahead", "OK"])
def test_a_yes(text: str) -> None:
    assert is_yes(text)


@pytest.mark.parametrize(
    "text", ["No.", "yes, no wait", "not now", "unlock the back door instead", "", "what?"]
)
def test_not_a_yes(text: str) -> None:
    assert not is_yes(text)
