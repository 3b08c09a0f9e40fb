"""Request and response bodies of the reminder and push routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from butler.api.schemas import Strict
from butler.reminders.store import MAX_TEXT, Reminder


class ReminderCreate(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=r"\S", examples=["Call mum"])
    due_at: AwareDatetime = Field(
        description="When, as ISO 8601 with an offset; not in the past, at most five years on.",
        examples=["2026-12-02T18:00:00+00:00"],
    )
    recurrence: str | None = Field(
        default=None,
        max_length=300,
        description=(
            "An RFC 5545 RRULE, repeated on the person's wall clock from due_at "
            '(e.g. "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"); at most every 15 minutes.'
        ),
    )


class ReminderOut(BaseModel):
    id: uuid.UUID
    kind: Literal["reminder", "timer"]
    text: str = Field(description="What to remind of; for a timer, its name (may be empty).")
    due_at: datetime = Field(description="When it fires next.")
    recurrence: str | None
    timezone: str = Field(description="The zone its recurrence keeps to.")
    duration_seconds: int | None = Field(description="A timer's length.")
    seconds_left: float
    created_at: datetime

    @classmethod
    def of(cls, reminder: Reminder, now: datetime) -> ReminderOut:
        return cls(
            id=reminder.id,
            kind=reminder.kind,
            text=reminder.text,
            due_at=reminder.due_at,
            recurrence=reminder.recurrence,
            timezone=reminder.timezone,
            duration_seconds=reminder.duration_seconds,
            seconds_left=round(reminder.seconds_left(now), 1),
            created_at=reminder.created_at,
        )


class ReminderList(BaseModel):
    reminders: list[ReminderOut] = Field(description="Waiting reminders and timers, soonest first.")


class PushPublicKey(BaseModel):
    public_key: str = Field(
        description="The VAPID key, for PushManager.subscribe's applicationServerKey."
    )


class PushKeys(Strict):
    p256dh: str = Field(min_length=20, max_length=200, pattern=r"^[A-Za-z0-9_\-=]+$")
    auth: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_\-=]+$")


class PushSubscriptionIn(Strict):
    endpoint: str = Field(min_length=8, max_length=2048, pattern=r"^[\x21-\x7e]+$")
    keys: PushKeys
    expirationTime: float | None = Field(default=None, description="Ignored (browsers send it).")


class PushUnsubscribe(Strict):
    endpoint: str | None = Field(
        default=None, max_length=2048, description="This browser's endpoint; omitted: all of yours."
    )


class VoiceNotice(BaseModel):
    id: uuid.UUID
    kind: Literal["reminder", "timer"]
    spoken: str = Field(description="The sentence to say.")


class VoiceNotices(BaseModel):
    notices: list[VoiceNotice]
