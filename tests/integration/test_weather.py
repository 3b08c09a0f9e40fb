"""Weather through chat: the model's tool against a local Open-Meteo, for the person's
home place (set in their profile) or a place they name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.open_meteo import FakeOpenMeteo
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import text_of, tool_result, voice_stream, voice_worker
from tests.livekit_server import LiveKitServer
from tests.support import Account, claude_at, live_server, make_settings, register


@pytest.fixture(scope="module")
def open_meteo() -> Iterator[FakeOpenMeteo]:
    with FakeOpenMeteo().running() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(
    dsn: str,
    anthropic_wire: AnthropicWire,
    open_meteo: FakeOpenMeteo,
    livekit: LiveKitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("weather"),
        llm=claude_at(anthropic_wire.base_url),
        livekit=livekit.settings,
        weather={"forecast_url": open_meteo.url, "geocoding_url": open_meteo.url},
    )
    with live_server(settings, dsn) as url:
        yield url


@pytest.fixture
def person(server: str, dsn: str) -> Account:
    return register(server, dsn)


def ask(person: Account, wire: AnthropicWire, arguments: dict[str, object]) -> str:
    wire.play(Reply.use_tools(("weather", arguments)), Reply.say("Here is the weather."))
    answer = person.client.post(
        "/api/chat", json={"message": "What's the weather like?"}, headers=person.auth
    )
    assert answer.status_code == 200, answer.text
    return tool_result(wire)


def test_the_weather_at_home_and_in_a_named_place(
    person: Account, wire: AnthropicWire, open_meteo: FakeOpenMeteo
) -> None:
    unset = ask(person, wire, {})
    assert "home place" in unset  # the model is told to ask where
    profile = person.client.patch(
        "/api/users/me", json={"home_place": "Leeds"}, headers=person.auth
    )
    assert profile.status_code == 200, profile.text
    place = profile.json()["home_place"]
    assert place["name"] == "Leeds, England, United Kingdom" and round(place["latitude"], 2) == 53.8

    at_home = ask(person, wire, {"days": 2})
    assert at_home.startswith(
        "Leeds, England, United Kingdom now: 7°C (feels like 4°C), light rain"
    )
    assert "Today: rain, 5 to 9°C, 80% chance of rain." in at_home
    assert "Tomorrow: overcast, 2 to 6°C" in at_home
    path, query = open_meteo.requests[-1]
    assert path == "/v1/forecast" and query["latitude"] == ["53.79648"]

    paris = ask(person, wire, {"place": "Paris"})
    assert paris.startswith("Paris, Île-de-France, France now: 12°C") and "clear sky" in paris
    assert "Tomorrow" not in paris  # one day unless asked


def test_bad_places_and_a_weather_service_that_is_down(
    person: Account, wire: AnthropicWire, open_meteo: FakeOpenMeteo
) -> None:
    nowhere = person.client.patch(
        "/api/users/me", json={"home_place": "Atlantis"}, headers=person.auth
    )
    assert nowhere.status_code == 422 and "Atlantis" in nowhere.json()["message"]
    assert "No place called 'Atlantis'" in ask(person, wire, {"place": "Atlantis"})
    cleared = person.client.patch("/api/users/me", json={"home_place": ""}, headers=person.auth)
    assert cleared.status_code == 200 and cleared.json()["home_place"] is None
    open_meteo.failing = True
    try:
        assert "cannot be reached" in ask(
            person, wire, {"place": "Paris"}
        ) or "answered 500" in ask(person, wire, {"place": "Paris"})
        down = person.client.patch(
            "/api/users/me", json={"home_place": "Leeds"}, headers=person.auth
        )
        assert down.status_code == 502 and down.json()["error"] == "weather_unavailable"
    finally:
        open_meteo.failing = False


def test_the_weather_by_voice(person: Account, wire: AnthropicWire) -> None:
    """The voice worker's turn runs the same tool."""
    worker, room = voice_worker(person)
    wire.play(
        Reply.use_tools(("weather", {"place": "Paris"})),
        Reply.say("It is clear in Paris, twelve degrees."),
    )
    events = voice_stream(
        worker, {"transcript": "What's the weather in Paris?", "session_id": room}
    )
    assert text_of(events) == "It is clear in Paris, twelve degrees."
    assert tool_result(wire).startswith("Paris, Île-de-France, France now: 12°C")
