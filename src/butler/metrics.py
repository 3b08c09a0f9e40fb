"""Prometheus metrics: what an operator graphs and alerts on.

Counters and histograms only (no gauges), so that with several API worker processes
(`butler serve --workers N`) prometheus_client's multiprocess mode can add them up: serve
sets PROMETHEUS_MULTIPROC_DIR before the workers start. Labels are bounded sets (a route
template, never a raw path or a person) so the number of series stays small.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from butler.llm.base import Usage

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_VOICE_SECONDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

HTTP_REQUEST_SECONDS = Histogram(
    "butler_http_request_duration_seconds",
    "Time from a request's arrival to its last byte, by route template and status.",
    ["method", "route", "status"],
    buckets=_SECONDS,
)
TURNS = Counter(
    "butler_turns",
    "Turns the brain ran, by channel (text, voice, whatsapp) and outcome.",
    ["channel", "outcome"],
)
MODEL_TOKENS = Counter(
    "butler_model_tokens",
    "Language model tokens, by kind (input, output, cache_read, cache_write).",
    ["kind"],
)
MODEL_ERRORS = Counter(
    "butler_model_errors", "Turns the language model failed, by error code.", ["code"]
)
VOICE_STAGE_SECONDS = Histogram(
    "butler_voice_turn_stage_seconds",
    "Voice turn stages as the worker measured them; first_audio is end of speech to the "
    "first audio of the reply.",
    ["stage"],
    buckets=_VOICE_SECONDS,
)
REMINDERS_FIRED = Counter("butler_reminders_fired", "Reminders and timers fired.", ["kind"])
REMINDER_LATENESS_SECONDS = Histogram(
    "butler_reminder_lateness_seconds",
    "How long after its due time a reminder fired.",
    buckets=(0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
WHATSAPP_MESSAGES = Counter(
    "butler_whatsapp_messages",
    "WhatsApp messages Butler sent (status sent) and the statuses Meta reported later.",
    ["status"],
)

VOICE_STAGES = ("endpointing", "stt", "llm_first_token", "tts_first_byte", "first_audio", "total")


def observe_voice_turn(timings_ms: dict[str, int | None], *, interrupted: bool) -> None:
    """One turn's stages from the worker's report (`<stage>_ms` keys)."""
    for stage in VOICE_STAGES:
        value = timings_ms.get(f"{stage}_ms")
        # An interrupted turn's total measures the person, not Butler.
        if value is not None and not (interrupted and stage == "total"):
            VOICE_STAGE_SECONDS.labels(stage).observe(value / 1000)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric, summed over worker processes when there are several."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def count_tokens(usage: Usage) -> None:
    for kind in ("input", "output", "cache_read", "cache_write"):
        if amount := getattr(usage, f"{kind}_tokens"):
            MODEL_TOKENS.labels(kind).inc(amount)
