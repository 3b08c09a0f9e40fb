"""The voice worker's side of the API: turns for one user, by voice-session credential.

The user always comes from the credential (minted with the room token), never from the
request body.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import StreamingResponse

from butler.agent.brain import TurnRequest
from butler.agent.home_turns import FAST_PATH
from butler.agent.timer_turns import TIMER_FAST_PATH
from butler.api.deps import (
    Db,
    ServicesDep,
    VoiceCaller,
    VoiceCallerDep,
    VoiceReporterDep,
    voice_caller,
)
from butler.api.schemas import (
    VoiceHomeAction,
    VoiceInterrupted,
    VoiceProcessRequest,
    VoiceProcessResponse,
    VoiceProfile,
    VoiceTurnMetrics,
    error_responses,
)
from butler.api.sse import event_stream
from butler.api.turns import collect_while_connected, ensure_ready
from butler.auth import voice_sessions
from butler.errors import Forbidden
from butler.home.errors import HomeError
from butler.llm.base import ToolCall
from butler.memory import history, voice_turns
from butler.metrics import observe_voice_turn
from butler.tools import audit
from butler.tools.registry import ToolOutcome

router = APIRouter(prefix="/api/voice", tags=["voice"])
_ERRORS = error_responses(401, 413, 422, 502, 503)


async def get_turn_caller(
    body: VoiceProcessRequest, request: Request, services: ServicesDep
) -> VoiceCaller:
    return await voice_caller(request, services, turn_text=body.transcript)


# The caller of a turn: like VoiceCallerDep, with the turn's recall started early.
TurnCaller = Annotated[VoiceCaller, Depends(get_turn_caller)]


def session_of(caller: VoiceCaller, session_id: str | None) -> str:
    """The credential's room is the session: it cannot act for another room."""
    if session_id and session_id != caller.session.room:
        raise Forbidden("This voice credential belongs to another room.", code="wrong_room")
    return caller.session.room


def _turn(body: VoiceProcessRequest, caller: VoiceCaller) -> TurnRequest:
    return TurnRequest(
        user=caller.user,
        channel="voice",
        text=body.transcript,
        session_id=session_of(caller, body.session_id),
        turn_id=body.turn_id,
        metadata={"room": caller.session.room},
    )


@router.post("/process", response_model=VoiceProcessResponse, responses=_ERRORS)
async def process(
    body: VoiceProcessRequest, caller: TurnCaller, services: ServicesDep, request: Request
) -> VoiceProcessResponse:
    turn = _turn(body, caller)  # the room check comes before anything else
    finished = await collect_while_connected(request, ensure_ready(services).run(turn))
    return VoiceProcessResponse(
        response=finished.text,
        should_end_turn=finished.should_end_turn,
        message_id=finished.message_id,
    )


@router.post("/stream", responses={**_ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def stream(
    body: VoiceProcessRequest, caller: TurnCaller, services: ServicesDep
) -> StreamingResponse:
    """The turn as server-sent events. It is asked at the speaker's first pause, before
    the turn is over, so a home command is only planned: its `done` event names the
    action (`home_action_id`), which the worker carries out once the reply is heard."""
    turn = replace(_turn(body, caller), act_when_heard=True)
    brain = ensure_ready(services)
    return event_stream(brain.run(turn), keepalive=services.keepalive_seconds)


@router.post("/home-actions/{action_id}", response_model=VoiceHomeAction, responses=_ERRORS)
async def carry_out_home_action(
    action_id: uuid.UUID, caller: VoiceReporterDep, services: ServicesDep, conn: Db
) -> VoiceHomeAction:
    """Carry out a home action (or start a timer) a voice reply announced, now that it
    was heard: once (a repeat, an expired or another person's action is refused with a
    sentence to say)."""
    started = time.perf_counter()
    tool = FAST_PATH
    if await services.notify.store.release_held(conn, caller.user.id, action_id):
        tool, result = TIMER_FAST_PATH, VoiceHomeAction(ok=True, said="")
    else:
        try:
            done = await services.home.carry_out(caller.user, action_id)
            result = VoiceHomeAction(ok=True, said=done.said)
        except HomeError as exc:
            result = VoiceHomeAction(ok=False, said=exc.message)
    call = ToolCall(f"{tool}-{action_id.hex[:12]}", tool, {"action_id": str(action_id)})
    took = int((time.perf_counter() - started) * 1000)
    outcome = ToolOutcome(call, result.said, "ok" if result.ok else "tool_error", took)
    await audit.record(
        conn,
        user_id=caller.user.id,
        channel="voice",
        session_id=caller.session.room,
        outcomes=[outcome],
    )
    return result


@router.post("/interrupted", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def interrupted(body: VoiceInterrupted, caller: VoiceReporterDep, conn: Db) -> Response:
    """The user talked over the reply: keep only the part that was actually spoken."""
    session_id = session_of(caller, body.session_id)
    updated = await history.mark_interrupted(
        conn, caller.user.id, body.turn_id, body.delivered_text
    )
    if not updated:
        await history.save_turn(
            conn,
            history.CompletedTurn(
                user_id=caller.user.id,
                channel="voice",
                session_id=session_id,
                user_text=body.transcript,
                reply_text=body.delivered_text,
                turn_id=body.turn_id,
                reply_metadata={"interrupted": True, "room": caller.session.room},
            ),
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=VoiceProfile, responses=_ERRORS)
async def profile(caller: VoiceCallerDep) -> VoiceProfile:
    user = caller.user
    return VoiceProfile(
        id=user.id, display_name=user.display_name, voice=user.voice, timezone=user.timezone
    )


@router.post("/turns", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def record_turn(body: VoiceTurnMetrics, caller: VoiceReporterDep, conn: Db) -> Response:
    """Stage timings of one turn, so that latency is a number we see."""
    timings = body.model_dump(exclude={"session_id", "interrupted"})
    await voice_turns.record(
        conn,
        user_id=caller.user.id,
        session_id=session_of(caller, body.session_id),
        room_name=caller.session.room,
        timings=timings,
        interrupted=body.interrupted,
    )
    observe_voice_turn(timings, interrupted=body.interrupted)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/end", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def end_session(caller: VoiceReporterDep, conn: Db, services: ServicesDep) -> Response:
    """The worker's session is over (the person left): its credential stops working and
    the room is closed."""
    room = caller.session.room
    await voice_sessions.end(conn, room, "worker_ended")
    await services.livekit.rooms.close([room])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
