"""The Home Assistant client against a local server speaking its WebSocket protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from butler.home.client import HomeAssistantClient, LinkState, check_connection
from butler.home.errors import HomeRefused, HomeUnavailable
from butler.home.registry import HomeRegistry
from tests.fakes.home_assistant import TOKEN, VERSION, FakeHomeAssistant
from tests.support import free_port


@pytest.fixture
def home() -> Iterator[FakeHomeAssistant]:
    with FakeHomeAssistant().running() as fake:
        yield fake


async def until(condition: object, seconds: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if callable(condition) and condition():
            return True
        await asyncio.sleep(0.02)
    return False


def test_it_loads_the_home_and_follows_its_changes(home: FakeHomeAssistant) -> None:
    home.coalesce = True  # every message inside a JSON array, as HA may send them

    async def scenario() -> None:
        registry = HomeRegistry()
        client = HomeAssistantClient(home.url, TOKEN, registry, timeout=2)
        client.start()
        try:
            assert await client.wait_connected(5)
            assert client.ha_version == VERSION
            counter = registry.entity("light.kitchen_counter")
            assert counter is not None and counter.area is not None  # from its device
            thermostat = registry.entity("climate.bedroom")
            assert thermostat is not None and "bedroom heating" in thermostat.aliases

            await asyncio.to_thread(home.set_state, "light.bedroom", "on")
            assert await until(lambda: registry.entity("light.bedroom").state.state == "on")  # type: ignore[union-attr]

            await asyncio.to_thread(home.rename, "light.bedroom", "Big Light", "ceiling light")
            assert await until(lambda: registry.entity("light.bedroom").name == "Big Light")  # type: ignore[union-attr]
            renamed = registry.entity("light.bedroom")
            assert renamed is not None and renamed.aliases == ("ceiling light",)

            await client.call_service("light", "turn_off", ["light.bedroom"])
            assert home.state("light.bedroom")["state"] == "off"
        finally:
            await client.stop()

    asyncio.run(scenario())


def test_a_refused_token_stops_it_without_retrying(home: FakeHomeAssistant) -> None:
    async def scenario() -> None:
        client = HomeAssistantClient(home.url, "wrong-token", HomeRegistry(), timeout=2)
        client.start()
        try:
            assert await until(lambda: client.state == LinkState.REFUSED)
            await asyncio.sleep(2.5)  # a retry would come within 1 s
            assert home.refused_logins == 1
            with pytest.raises(HomeUnavailable, match="refused my access token"):
                await client.command("get_states")
        finally:
            await client.stop()

    asyncio.run(scenario())


def test_commands_in_flight_fail_when_the_link_drops_and_it_comes_back(
    home: FakeHomeAssistant,
) -> None:
    async def scenario() -> None:
        client = HomeAssistantClient(home.url, TOKEN, HomeRegistry(), timeout=2)
        client.start()
        try:
            assert await client.wait_connected(5)
            await asyncio.to_thread(home.go_away)
            assert await until(lambda: client.state != LinkState.CONNECTED)
            with pytest.raises(HomeUnavailable):
                await client.command("get_states")
            await asyncio.to_thread(home.come_back)
            assert await client.wait_connected(10)
            assert home.logins == 2
        finally:
            await client.stop()

    asyncio.run(scenario())


def test_test_connection_says_what_is_wrong(home: FakeHomeAssistant) -> None:
    assert asyncio.run(check_connection(home.url, TOKEN, seconds=3)) == VERSION
    with pytest.raises(HomeRefused):
        asyncio.run(check_connection(home.url, "nope", seconds=3))
    with pytest.raises(HomeUnavailable, match="Could not reach"):
        asyncio.run(check_connection(f"http://127.0.0.1:{free_port()}", TOKEN, seconds=3))
