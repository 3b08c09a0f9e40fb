"""`butler voice`: the LiveKit Agents worker, dispatched explicitly as agent `butler`.

The Butler API creates each room and dispatches this agent into it; the dispatch's
metadata (seen by the worker, never by the browser) carries the voice-session
credential for that room. The worker presents it to the API for every turn, so it acts
only for that person in that room, and never holds a key that could act as anyone
else. When the person leaves, the worker ends the session: the credential stops
working and the room closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from typing import Any

import httpx
from livekit import rtc
from livekit.agents import AgentServer, AgentSession, JobContext, JobProcess, room_io

from butler.config import Settings
from butler.voice.agent import ButlerAgent
from butler.voice.butler_llm import ButlerAPI, ButlerLLM
from butler.voice.notices import start_speaking_notices
from butler.voice.providers import (
    build_stt,
    build_tts,
    build_vad,
    prewarm_local_models,
    session_vad,
    streaming_stt,
)
from butler.voice.reporting import attach_reporting
from butler.voice.session_setup import attach_session_behaviour, session_options
from butler.voice.turn_models import load_turn_model
from butler.voice.worker_health import WorkerHealth

log = logging.getLogger(__name__)


class SessionRefused(Exception):
    pass


def voice_api_for_job(metadata: str, room_name: str, settings: Settings) -> ButlerAPI:
    """The API handle for one job, from its dispatch metadata."""
    try:
        credential = json.loads(metadata or "{}").get("voice_credential")
    except (json.JSONDecodeError, AttributeError):
        credential = None
    if not isinstance(credential, str) or not credential:
        raise SessionRefused("the dispatch carries no voice credential")
    return ButlerAPI(
        base_url=settings.api_url,
        ca_file=settings.api_ca_file,
        credential=credential,
        session_id=room_name,
        timeout_seconds=settings.voice.api_timeout_seconds,
        apology=settings.voice.apology,
    )


def check_identity(profile: dict[str, Any], participant_identity: str) -> None:
    """The person in the room must be the one the credential was minted for."""
    if str(profile.get("id")) != participant_identity:
        raise SessionRefused("the participant is not the user of the voice credential")


def rtc_config(ice_servers: list[str]) -> rtc.RtcConfiguration | None:
    """Butler's own ICE servers, when set; else the LiveKit server's (Butler's embedded
    server hands out only its own address, never public STUN servers)."""
    if not ice_servers:
        return None
    return rtc.RtcConfiguration(ice_servers=[rtc.IceServer(urls=list(ice_servers))])


def prewarm(proc: JobProcess) -> None:
    settings = Settings()
    proc.userdata["vad"] = build_vad(settings.voice)
    prewarm_local_models(settings.stt, settings.tts)
    load_turn_model(settings.voice.end_of_turn, settings.voice.smart_turn_model)


async def entrypoint(ctx: JobContext) -> None:
    settings = Settings()
    try:
        api = voice_api_for_job(ctx.job.metadata, ctx.room.name, settings)
        await ctx.connect(rtc_config=rtc_config(settings.livekit.ice_servers))
        participant = await ctx.wait_for_participant()
        profile = await api.profile()
        check_identity(profile, participant.identity)
    except (SessionRefused, httpx.HTTPError) as exc:
        # A revoked or unknown credential (401), or an API that is not there: leave the
        # room rather than sit in it unable to answer.
        log.warning("voice session refused: %s", exc)
        ctx.shutdown(reason=str(exc))
        return
    vad_model = session_vad(ctx.proc.userdata.get("vad") or build_vad(settings.voice))
    session: AgentSession[Any] = AgentSession(
        vad=vad_model,
        stt=streaming_stt(build_stt(settings.stt, vad_model), vad_model, settings.voice),
        llm=ButlerLLM(api),
        tts=build_tts(settings.tts, str(profile.get("voice", ""))),
        **session_options(settings.voice),
    )
    attach_session_behaviour(session, settings.voice)
    attach_reporting(session, api)
    end_when_they_leave(ctx, api, participant.identity)
    await session.start(
        agent=ButlerAgent(api),
        room=ctx.room,
        # 10 ms frames to the VAD (livekit's 50 ms delay noticing speech over the reply).
        room_options=room_io.RoomOptions(audio_input=room_io.AudioInputOptions(frame_size_ms=10)),
    )
    if settings.voice.greeting:
        session.say(settings.voice.greeting)
    start_speaking_notices(session, api)


def end_when_they_leave(ctx: JobContext, api: ButlerAPI, identity: str) -> None:
    """The person leaving ends the job; at the end the API closes the session and room."""

    def left(participant: rtc.RemoteParticipant) -> None:
        if participant.identity == identity:
            ctx.shutdown(reason="the person left")

    ctx.room.on("participant_disconnected", left)

    async def close() -> None:
        await api.end_session()
        await api.aclose()

    ctx.add_shutdown_callback(close)


def build_server(settings: Settings) -> AgentServer:
    lk = settings.livekit
    max_sessions = settings.voice.max_sessions
    server = AgentServer(
        setup_fnc=prewarm,
        ws_url=lk.server_url,
        api_key=lk.api_key.get_secret_value() if lk.api_key else None,
        api_secret=lk.api_secret.get_secret_value() if lk.api_secret else None,
        # livekit-agents' own HTTP server, on loopback and any free port; Butler's health
        # check (worker_health) is on worker_health_port.
        host="127.0.0.1",
        port=0,
        # Busy by sessions, not by CPU: the CPU is shared with the API and the speech
        # models, and a household has no other worker to send a refused job to.
        load_fnc=lambda worker: len(worker.active_jobs) / max_sessions,
        load_threshold=0.999,
    )
    server.rtc_session(entrypoint, agent_name=lk.agent_name)
    return server


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then leave the rooms and stop cleanly."""
    if "livekit" not in settings.voice.end_of_turn:
        # livekit preloads its on-device models (~240 MB) into every worker unless told
        # not to; Butler uses them only when the end-of-turn setting names them.
        os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")
    server = build_server(settings)
    health = WorkerHealth(
        server, settings.livekit.worker_health_port, host=settings.livekit.worker_health_host
    )
    await health.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.aclose()))
    try:
        await server.run()
    finally:
        await health.stop()
