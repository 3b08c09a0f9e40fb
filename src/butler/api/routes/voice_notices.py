"""Reminders spoken in the person's open voice session: the worker asks, waiting."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query

from butler.api.deps import ServicesDep, VoiceCallerDep
from butler.api.reminder_schemas import VoiceNotice, VoiceNotices
from butler.api.schemas import error_responses
from butler.auth import voice_sessions
from butler.db.pool import connection
from butler.notify import delivery
from butler.notify.wording import notice

router = APIRouter(prefix="/api/voice", tags=["voice"])
CHECK_EVERY = 0.5


@router.get("/notices", response_model=VoiceNotices, responses=error_responses(401, 422))
async def notices(
    caller: VoiceCallerDep,
    services: ServicesDep,
    wait: Annotated[float, Query(ge=0, le=30, description="Seconds to wait for one.")] = 20,
) -> VoiceNotices:
    """Reminders and timers of this session's person that fired while it was open, to
    be said now; each is handed to one session only. Waits up to `wait` seconds for one."""
    until = time.monotonic() + wait
    while True:
        async with connection(services.pool) as conn:
            taken = await delivery.claim(conn, "voice", user_id=caller.user.id)
            for each in taken:
                await delivery.sent(conn, each, caller.session.room)
            still_open = taken or await voice_sessions.is_open(conn, caller.session.room)
        if taken or not still_open or time.monotonic() >= until:
            break  # (a session that ended meanwhile: its next request is refused)
        await asyncio.sleep(CHECK_EVERY)
    return VoiceNotices(
        notices=[
            VoiceNotice(id=d.firing.id, kind=d.firing.kind, spoken=notice(d.firing).spoken)
            for d in taken
        ]
    )
