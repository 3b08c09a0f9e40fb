"""Controlling the home by voice: espeak-ng speech, the local models, the real API and a
local Home Assistant on the wire. Home commands take the fast path: no model is asked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from livekit.agents import llm
from livekit.agents.voice import SpeechHandle

from butler.config import VoiceSettings
from butler.voice.agent import ButlerAgent
from butler.voice.butler_llm import ButlerLLM
from butler.voice.simulated_io import read_wav, write_wav
from tests.fakes.home_assistant import FakeHomeAssistant
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import Account, register
from tests.voice.conftest import Converse, Speech, rms, voice_api
from tests.voice.test_talk_cli import _env, run_talk

pytestmark = pytest.mark.slow


@pytest.fixture
def resident(home_url: str, dsn: str) -> Account:
    return register(home_url, dsn)


def test_butler_talk_turns_off_the_kitchen_lights(
    home_url: str,
    resident: Account,
    home_assistant: FakeHomeAssistant,
    anthropic_wire: AnthropicWire,
    speak: Callable[[str], Speech],
    dsn: str,
    tmp_path: Path,
) -> None:
    anthropic_wire.reset()
    home_assistant.set_state("light.kitchen_ceiling", "on")
    home_assistant.set_state("light.kitchen_counter", "on")
    samples, rate = speak("Turn off the kitchen lights.")
    question, answer = tmp_path / "question.wav", tmp_path / "answer.wav"
    write_wav(question, samples, rate)
    result = run_talk(question, answer, resident.username, _env(dsn, home_url, tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert home_assistant.state("light.kitchen_ceiling")["state"] == "off"
    assert home_assistant.state("light.kitchen_counter")["state"] == "off"
    assert "Kitchen Ceiling" in result.stdout and "off" in result.stdout
    assert anthropic_wire.requests == []  # the fast path: no model round trip
    audio, _ = read_wav(answer)
    assert rms(audio) > 300


def test_the_bedroom_temperature_and_a_question_by_voice(
    resident: Account,
    home_assistant: FakeHomeAssistant,
    anthropic_wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    anthropic_wire.reset()
    home_assistant.set_state("lock.front_door", "locked")
    api = voice_api(resident, timeout=8)
    result = converse(
        resident, [speak("Please set the temperature in the bedroom to 20 degrees.")], api=api
    )
    assert home_assistant.state("climate.bedroom")["attributes"]["temperature"] == 20, result
    assert result.replies == ["Done. Bedroom Thermostat: set to 20 degrees."], result
    result = converse(resident, [speak("Is the front door locked?")], api=voice_api(resident))
    assert result.replies == ["Front Door is locked."], result
    assert anthropic_wire.requests == []


def test_a_voice_action_waits_for_its_reply_to_be_heard(
    resident: Account, home_assistant: FakeHomeAssistant, anthropic_wire: AnthropicWire
) -> None:
    """The worker's side: a reply prepared at a pause and then dropped (the person went
    on) never acts; the same reply once its turn is committed acts at once."""
    anthropic_wire.reset()
    home_assistant.set_state("light.kitchen_ceiling", "on")
    api = voice_api(resident)
    agent = ButlerAgent(api)

    async def plan() -> str:
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content="Turn off the kitchen lights")
        async with ButlerLLM(api).chat(chat_ctx=ctx) as stream:
            async for _ in stream:
                pass
        assert api.outcome.home_action_id, "the voice stream names the planned action"
        return api.outcome.home_action_id

    async def scenario() -> tuple[str, str]:
        try:
            dropped = SpeechHandle.create()
            action = await plan()
            waiting = asyncio.create_task(agent._carry_out_when_heard(dropped, action))
            await asyncio.sleep(0.2)
            dropped._cancel()  # livekit discards a preemptive reply the person spoke over
            await asyncio.wait_for(waiting, 5)
            after_dropped = home_assistant.state("light.kitchen_ceiling")["state"]
            heard = SpeechHandle.create()
            action = await plan()
            waiting = asyncio.create_task(agent._carry_out_when_heard(heard, action))
            await asyncio.sleep(0.2)
            assert home_assistant.state("light.kitchen_ceiling")["state"] == "on"
            heard._mark_scheduled()  # the turn was committed: the reply will play
            await asyncio.wait_for(waiting, 5)
            return after_dropped, home_assistant.state("light.kitchen_ceiling")["state"]
        finally:
            await api.aclose()

    after_dropped, after_heard = asyncio.run(scenario())
    assert after_dropped == "on"
    assert after_heard == "off"
    assert anthropic_wire.requests == []


def test_a_complete_home_command_is_answered_without_the_endpointing_wait(
    resident: Account,
    home_assistant: FakeHomeAssistant,
    anthropic_wire: AnthropicWire,
    speak: Callable[[str], Speech],
    converse: Converse,
) -> None:
    """With a long silence before the VAD ends the speech (2 s here) and a long wait
    after it (3 s), a home command the API recognised is still answered at once: its
    speech ends after the command's short silence. Anything else waits both out."""
    anthropic_wire.reset()
    anthropic_wire.play(Reply.say("It is a fine day."))
    home_assistant.set_state("light.kitchen_ceiling", "on")
    patient = VoiceSettings(
        vad_min_silence_seconds=2.0,
        endpointing_min_delay_seconds=3.0,
        endpointing_max_delay_seconds=4.0,
    )
    command = converse(
        resident,
        [speak("Turn off the kitchen lights.")],
        settings=patient,
        tail_seconds=8,
        until_answered=False,
    )
    assert home_assistant.state("light.kitchen_ceiling")["state"] == "off", command
    assert command.end_to_first_audio and command.end_to_first_audio[0] < 1.9, command
    chat = converse(
        resident,
        [speak("How is the weather today?")],
        settings=patient,
        tail_seconds=11,
        until_answered=False,
    )
    assert chat.replies == ["It is a fine day."], chat
    assert chat.end_to_first_audio[0] >= 3.0, chat  # the two waits overlap
