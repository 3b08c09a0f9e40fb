"""Voice latency for admins: how fast Butler answers, per day and per turn, from the
stage timings the voice worker reports after every turn."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from butler.api.admin_schemas import LatencyDay, LatencyReport, LatencyTurn, StagePercentiles
from butler.api.deps import AdminUser, Db
from butler.api.schemas import error_responses
from butler.memory import voice_turns

router = APIRouter(prefix="/api/admin/voice", tags=["admin"])


def _day(row: dict[str, object]) -> LatencyDay:
    stages = {
        stage: StagePercentiles(p50=row[f"{stage}_p50"], p95=row[f"{stage}_p95"])
        for stage in voice_turns.CHARTED
    }
    return LatencyDay(day=row["day"], turns=row["turns"], **stages)


@router.get("/latency", response_model=LatencyReport, responses=error_responses(401, 403, 422))
async def latency(
    admin: AdminUser,
    conn: Db,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
    turns: Annotated[int, Query(ge=1, le=200)] = 20,
) -> LatencyReport:
    """p50 and p95 per day of each stage (interrupted turns left out), and the latest
    turns for a waterfall of their stages."""
    by_day = await voice_turns.daily_percentiles(conn, days=days, timezone=admin.timezone)
    latest = await voice_turns.recent(conn, limit=turns)
    return LatencyReport(
        days=[_day(row) for row in by_day],
        recent=[LatencyTurn.model_validate(row) for row in latest],
    )
