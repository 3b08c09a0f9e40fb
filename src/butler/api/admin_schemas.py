"""Admin pages' bodies: the first-run checks, and voice latency (per-day percentiles
and the latest turns' stages)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class StagePercentiles(BaseModel):
    p50: float | None
    p95: float | None


class LatencyDay(BaseModel):
    day: date = Field(description="In the asking admin's time zone.")
    turns: int
    endpointing_ms: StagePercentiles
    stt_ms: StagePercentiles
    llm_first_token_ms: StagePercentiles
    tts_first_byte_ms: StagePercentiles
    first_audio_ms: StagePercentiles = Field(description="End of speech to first audio.")


class LatencyTurn(BaseModel):
    id: int
    created_at: datetime
    display_name: str
    interrupted: bool
    endpointing_ms: int | None
    stt_ms: int | None
    llm_first_token_ms: int | None
    tts_first_byte_ms: int | None
    first_audio_ms: int | None


class LatencyReport(BaseModel):
    days: list[LatencyDay]
    recent: list[LatencyTurn]


class SetupCheck(BaseModel):
    name: str = Field(description="model, voice or home")
    ok: bool
    detail: str
    fix: str | None = Field(default=None, description="What to do when it is not ok.")
