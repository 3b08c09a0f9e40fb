"""Home control through chat: the real API, the real WebSocket client, and a local
server speaking Home Assistant's protocol whose states change when services are called.
The LLM is Claude's wire format on 127.0.0.1, scripted per test."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from butler.home.permissions import Permissions, set_permissions
from butler.users.models import Role
from tests.fakes.home_assistant import TOKEN, FakeHomeAssistant
from tests.fakes.wire import AnthropicWire, Reply
from tests.integration.chat_helpers import stored, voice_stream, voice_worker, wait_for
from tests.support import Account, live_server, make_settings, register, run


@pytest.fixture
def home(home_assistant: FakeHomeAssistant) -> FakeHomeAssistant:
    return home_assistant


@pytest.fixture(scope="module")
def admin(home_url: str, dsn: str) -> Account:
    return register(home_url, dsn, Role.ADMIN)


def status(account: Account) -> dict[str, Any]:
    response = account.client.get("/api/home/status", headers=account.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def person(home_url: str, dsn: str) -> Account:
    return register(home_url, dsn)


def say(account: Account, text: str) -> dict[str, Any]:
    response = account.client.post("/api/chat", json={"message": text}, headers=account.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def tool_rows(dsn: str, account: Account) -> list[dict[str, Any]]:
    async def fetch(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT tool_name, arguments, result, status, duration_ms FROM butler.tool_usage"
            " WHERE user_id = $1 ORDER BY id",
            account.id,
        )
        return [dict(r) for r in rows]

    return run(fetch, dsn)


def state_of(home: FakeHomeAssistant, entity_id: str) -> str:
    return str(home.state(entity_id)["state"])


def test_turn_off_the_kitchen_lights_needs_no_model(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire, dsn: str
) -> None:
    home.set_state("light.kitchen_ceiling", "on")
    home.set_state("light.kitchen_counter", "on")
    reply = say(person, "Turn off the kitchen lights.")
    assert state_of(home, "light.kitchen_ceiling") == "off"
    assert state_of(home, "light.kitchen_counter") == "off"
    assert "off" in reply["response"] and "Kitchen Ceiling" in reply["response"]
    assert wire.requests == []  # no model round trip
    history = stored(dsn, person.id)
    assert [h["content"] for h in history] == ["Turn off the kitchen lights.", reply["response"]]
    (row,) = tool_rows(dsn, person)
    assert row["tool_name"] == "home_fast_path" and row["status"] == "ok"
    assert set(row["arguments"]["entity_ids"]) == {"light.kitchen_ceiling", "light.kitchen_counter"}


def test_a_state_question_is_answered_from_the_live_picture(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire
) -> None:
    home.set_state("lock.front_door", "unlocked")  # changed at the door, not by Butler
    assert wait_for(lambda: "unlocked" in say(person, "Is the front door locked?")["response"])
    assert wire.requests == []


def test_the_model_sets_the_bedroom_to_20_degrees(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(
        Reply.use_tools(("find_devices", {"query": "heating", "area": "bedroom"})),
        Reply.use_tools(
            (
                "control_device",
                {"entity_ids": ["climate.bedroom"], "action": "set_temperature", "value": 20},
            )
        ),
        Reply.say("The bedroom is set to 20 degrees."),
    )
    reply = say(person, "Could you make it 20 degrees in the bedroom tonight?")
    assert reply["response"] == "The bedroom is set to 20 degrees."
    assert home.state("climate.bedroom")["attributes"]["temperature"] == 20
    found = wire.requests[1]["messages"][-1]["content"][0]["content"]
    assert "climate.bedroom" in found and "Bedroom Thermostat" in found
    assert [r["tool_name"] for r in tool_rows(dsn, person)] == ["find_devices", "control_device"]


def test_an_entity_that_is_not_exposed_is_refused(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire, dsn: str
) -> None:
    wire.play(
        Reply.use_tools(("control_device", {"entity_ids": ["camera.porch"], "action": "turn_off"})),
        Reply.say("I can't control the porch camera."),
    )
    say(person, "Switch off the porch camera")
    assert home.calls_to("camera.porch") == []
    result = wire.requests[1]["messages"][-1]["content"][0]
    assert result["is_error"] is True and "not available to me" in result["content"]


def test_a_lock_waits_for_a_yes(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire, dsn: str
) -> None:
    home.set_state("lock.front_door", "locked")
    wire.play(
        Reply.use_tools(
            ("control_device", {"entity_ids": ["lock.front_door"], "action": "unlock"})
        ),
        Reply.say("Unlock Front Door?"),
    )
    say(person, "Unlock the front door")
    assert state_of(home, "lock.front_door") == "locked"  # not without a yes
    told = wire.requests[1]["messages"][-1]["content"][0]["content"]
    assert "Unlock Front Door?" in told
    requests_before = len(wire.requests)
    reply = say(person, "Yes.")
    assert state_of(home, "lock.front_door") == "unlocked"
    assert "unlocked" in reply["response"]
    assert len(wire.requests) == requests_before  # the yes needs no model
    assert tool_rows(dsn, person)[-1]["tool_name"] == "home_confirmed"


def test_anything_but_yes_drops_the_waiting_action(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire
) -> None:
    home.set_state("lock.front_door", "locked")
    wire.play(
        Reply.use_tools(
            ("control_device", {"entity_ids": ["lock.front_door"], "action": "unlock"})
        ),
        Reply.say("Unlock Front Door?"),
        Reply.say("All right, I'll leave it locked."),
        Reply.say("Nothing to confirm."),
    )
    say(person, "Unlock the front door")
    say(person, "No, leave it.")
    say(person, "Yes.")  # too late: the question was answered
    assert state_of(home, "lock.front_door") == "locked"


def test_a_person_without_the_permission_cannot(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire, dsn: str
) -> None:
    async def no_locks(conn: asyncpg.Connection) -> None:
        await set_permissions(conn, person.id, Permissions(domains=frozenset(["light"])))

    run(no_locks, dsn)
    home.set_state("lock.front_door", "locked")
    wire.play(
        Reply.use_tools(
            ("control_device", {"entity_ids": ["lock.front_door"], "action": "unlock"})
        ),
        Reply.say("You are not allowed to unlock it."),
    )
    say(person, "Unlock the front door")
    result = wire.requests[1]["messages"][-1]["content"][0]
    assert result["is_error"] is True and "permission" in result["content"]
    say(person, "Yes.")
    assert state_of(home, "lock.front_door") == "locked"


def test_home_assistant_going_away_and_coming_back(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire, admin: Account
) -> None:
    home.set_state("light.bedroom", "off")
    home.go_away()
    try:
        assert wait_for(lambda: status(admin)["state"] != "connected", 10)
        wire.play(
            Reply.use_tools(
                ("control_device", {"entity_ids": ["light.bedroom"], "action": "turn_on"})
            ),
            Reply.say("I can't reach the house right now."),
        )
        started = time.monotonic()
        say(person, "Turn on the bedroom light")
        assert time.monotonic() - started < 5
        result = wire.requests[1]["messages"][-1]["content"][0]
        assert result["is_error"] is True and "can't reach Home Assistant" in result["content"]
    finally:
        home.come_back()
    assert wait_for(lambda: status(admin)["state"] == "connected", 15)
    say(person, "Turn on the bedroom light")
    assert state_of(home, "light.bedroom") == "on"


def test_status_shows_details_to_admins_only(person: Account, admin: Account) -> None:
    assert status(person) == {
        "configured": True,
        "state": "connected",
        "source": "settings",
        "url": None,
        "version": None,
        "error": None,
        "entities": None,
    }
    seen = status(admin)
    assert seen["version"] == "2026.11.3" and seen["entities"] >= 10
    assert TOKEN not in str(seen)


def test_an_admin_chooses_what_butler_may_use(
    person: Account, admin: Account, home: FakeHomeAssistant, wire: AnthropicWire
) -> None:
    listed = admin.client.get("/api/admin/home/entities", headers=admin.auth).json()
    by_id = {e["entity_id"]: e for e in listed}
    assert by_id["light.kitchen_ceiling"]["exposed"] is True
    assert by_id["lock.front_door"]["needs_confirmation"] is True
    assert by_id["cover.garage_door"]["needs_confirmation"] is True
    assert by_id["camera.porch"]["exposed"] is False
    assert person.client.get("/api/admin/home/entities", headers=person.auth).status_code == 403

    hide = {"exposed": False, "needs_confirmation": False}
    response = admin.client.put(
        "/api/admin/home/entities/switch.coffee_machine", json=hide, headers=admin.auth
    )
    assert response.status_code == 200 and response.json()["chosen"] is True
    try:
        wire.play(Reply.say("I can't see a coffee machine."))
        say(person, "switch on the coffee machine")
        assert home.calls_to("switch.coffee_machine") == []  # not on the fast path either
    finally:
        admin.client.delete("/api/admin/home/entities/switch.coffee_machine", headers=admin.auth)
    missing = admin.client.put("/api/admin/home/entities/light.nope", json=hide, headers=admin.auth)
    assert missing.status_code == 404
    bad = admin.client.put(
        f"/api/admin/users/{person.id}/home-permissions",
        json={"domains": ["light; DROP TABLE"]},
        headers=admin.auth,
    )
    assert bad.status_code == 422


def test_home_commands_work_with_no_language_model(
    home: FakeHomeAssistant, dsn: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, home_assistant={"url": home.url, "token": TOKEN, "timeout_seconds": 2}
    )
    assert settings.llm.api_key is None
    with live_server(settings, dsn) as url:
        person = register(url, dsn)
        home.set_state("light.bedroom", "off")
        assert wait_for(
            lambda: (
                person.client.post(
                    "/api/chat", json={"message": "Turn on the bedroom light"}, headers=person.auth
                ).status_code
                == 200
            ),
            10,
        )
        assert state_of(home, "light.bedroom") == "on"
        other = person.client.post(
            "/api/chat", json={"message": "Tell me a joke"}, headers=person.auth
        )
        assert other.status_code == 503, other.text
        assert other.json()["error"] == "llm_not_configured"
        assert "only work the home" in other.json()["message"]


def test_a_spoken_yes_the_worker_abandons_unlocks_nothing(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire
) -> None:
    home.set_state("lock.front_door", "locked")
    wire.play(
        Reply.use_tools(
            ("control_device", {"entity_ids": ["lock.front_door"], "action": "unlock"})
        ),
        Reply.say("Unlock Front Door?"),
    )
    say(person, "Unlock the front door")
    worker, room = voice_worker(person)
    body = {"transcript": "Yes.", "session_id": room, "turn_id": "early"}
    # The worker's early request at a pause, dropped because the person went on speaking.
    with worker.stream("POST", "/api/voice/stream", json=body) as response:
        assert response.status_code == 200
        time.sleep(0.3)  # then the connection closes, as the worker's does
    time.sleep(2.0)  # past the hold: an action not cancelled would have run by now
    assert state_of(home, "lock.front_door") == "locked"
    # The turn's own request, kept to its end, carries the yes out.
    response = worker.post("/api/voice/process", json={**body, "turn_id": "final"})
    assert response.status_code == 200, response.text
    assert state_of(home, "lock.front_door") == "unlocked"


def streamed_done(worker: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """The `done` event of a voice stream."""
    (done,) = [data for name, data in voice_stream(worker, body) if name == "done"]
    return done


def test_a_voice_command_is_carried_out_only_once_its_reply_is_heard(
    person: Account, home: FakeHomeAssistant, wire: AnthropicWire, dsn: str
) -> None:
    home.set_state("light.kitchen_ceiling", "on")
    worker, room = voice_worker(person)
    body = {"transcript": "Turn off the kitchen lights", "session_id": room, "turn_id": "t1"}
    # Asked at the speaker's first pause: planned, not done (they may go on speaking).
    done = streamed_done(worker, body)
    action_id = done["home_action_id"]
    assert action_id and wire.requests == []
    time.sleep(0.3)
    assert state_of(home, "light.kitchen_ceiling") == "on"
    assert tool_rows(dsn, person) == []
    # Another person's worker cannot carry it out.
    other = register(str(person.client.base_url), dsn)
    other_worker, _ = voice_worker(other)
    stolen = other_worker.post(f"/api/voice/home-actions/{action_id}")
    assert stolen.status_code == 200 and stolen.json()["ok"] is False
    assert state_of(home, "light.kitchen_ceiling") == "on"
    # The turn was committed: the worker carries it out, once.
    heard = worker.post(f"/api/voice/home-actions/{action_id}")
    assert heard.status_code == 200, heard.text
    assert heard.json()["ok"] is True and "off" in heard.json()["said"]
    assert state_of(home, "light.kitchen_ceiling") == "off"
    again = worker.post(f"/api/voice/home-actions/{action_id}")
    assert again.json()["ok"] is False and "no longer waiting" in again.json()["said"]
    rows = tool_rows(dsn, person)
    assert [r["status"] for r in rows] == ["ok", "tool_error"]
    assert all(r["tool_name"] == "home_fast_path" for r in rows)
    # A reply that was never heard leaves the house alone; typed chat acts at once.
    home.set_state("light.kitchen_ceiling", "on")
    streamed_done(worker, {**body, "turn_id": "t2"})
    time.sleep(0.3)
    assert state_of(home, "light.kitchen_ceiling") == "on"
    say(person, "Turn off the kitchen lights")
    assert state_of(home, "light.kitchen_ceiling") == "off"
    bad = worker.post("/api/voice/home-actions/not-a-uuid")
    assert bad.status_code == 422
