"""The admin's latency report: p50 and p95 per day of each voice stage (interrupted
turns left out), in the admin's time zone, and the latest turns for a waterfall."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg

from butler.users.models import Role
from tests.support import Account, run


def store_turns(dsn: str, user_id: uuid.UUID, turns: list[tuple[int, int, bool]]) -> None:
    """(days ago, first audio ms, interrupted) per turn; other stages derived from it."""

    async def insert(conn: asyncpg.Connection) -> None:
        await conn.execute("DELETE FROM butler.voice_turns")
        for days_ago, first_audio, interrupted in turns:
            await conn.execute(
                """INSERT INTO butler.voice_turns (user_id, session_id, endpointing_ms, stt_ms,
                       llm_first_token_ms, tts_first_byte_ms, first_audio_ms, total_ms,
                       interrupted, created_at)
                   VALUES ($1, 's', $2, 50, 200, 90, $3, $3, $4,
                           now() - make_interval(days => $5))""",
                user_id,
                first_audio // 2,
                first_audio,
                interrupted,
                days_ago,
            )

    run(insert, dsn)


def test_the_latency_report_gives_percentiles_per_day_and_the_latest_turns(
    new_account: Callable[..., Account], dsn: str
) -> None:
    admin, member = new_account(Role.ADMIN), new_account()
    store_turns(
        dsn,
        member.id,
        [
            (0, 500, False),
            (0, 600, False),
            (0, 700, False),
            (0, 9000, True),  # interrupted: not in the percentiles
            (2, 1000, False),
        ],
    )
    refused = member.client.get("/api/admin/voice/latency", headers=member.auth)
    assert refused.status_code == 403
    report = admin.client.get("/api/admin/voice/latency?days=7", headers=admin.auth)
    assert report.status_code == 200, report.text
    days = report.json()["days"]
    assert [day["turns"] for day in days] == [3, 1]  # newest first
    today = days[0]
    assert today["first_audio_ms"]["p50"] == 600
    assert 680 <= today["first_audio_ms"]["p95"] <= 700
    assert today["endpointing_ms"]["p50"] == 300
    recent = report.json()["recent"]
    assert len(recent) == 5 and recent[0]["display_name"] == member.user["display_name"]
    assert {turn["first_audio_ms"] for turn in recent} >= {9000, 1000}
    short = admin.client.get("/api/admin/voice/latency?days=1", headers=admin.auth).json()
    assert [day["turns"] for day in short["days"]] == [3]
    bad = admin.client.get("/api/admin/voice/latency?days=0", headers=admin.auth)
    assert bad.status_code == 422
