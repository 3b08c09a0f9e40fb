"""Liveness and readiness probes (readiness also reports the voice stack)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from butler.api.deps import ServicesDep
from butler.api.schemas import HealthResponse, VoiceStackHealth
from butler.db import migrate
from butler.db.pool import connection
from butler.stack.health import voice_health

router = APIRouter(tags=["health"])
_HEAD = migrate.head_revision()


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get("/readyz", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def readyz(services: ServicesDep) -> HealthResponse | JSONResponse:
    try:
        async with asyncio.timeout(2):
            async with connection(services.pool) as conn:
                revision = await migrate.current_revision(conn)
    except Exception as exc:  # unreachable, timed out or any driver error: "not ready"
        return _unready(f"database unreachable: {type(exc).__name__}")
    if revision != _HEAD:
        return _unready(f"migrations not current: database at {revision}, code at {_HEAD}")
    # Voice is reported, not required: chat works without it.
    lk = services.livekit
    voice = await voice_health(lk.settings, lk.data_dir)
    return HealthResponse(
        status="ready",
        detail=None if voice.available else "voice unavailable: " + voice.fix,
        voice=VoiceStackHealth(livekit=voice.livekit, worker=voice.worker),
    )


def _unready(detail: str) -> JSONResponse:
    return JSONResponse(HealthResponse(status="unavailable", detail=detail).model_dump(), 503)
