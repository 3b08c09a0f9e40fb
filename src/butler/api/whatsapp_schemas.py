"""Bodies of the WhatsApp routes: linking one's number, and the admins' view."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from butler.api.schemas import Strict


class WhatsAppNumberIn(Strict):
    phone_number: str = Field(
        min_length=8,
        max_length=24,
        description="E.164, e.g. +447700900123",
        examples=["+447700900123"],
    )


class WhatsAppCodeIn(Strict):
    code: str = Field(pattern=r"^[0-9]{6}$", description="The six digits sent on WhatsApp")


class WhatsAppPreferences(Strict):
    voice_replies: bool = Field(description="Answer my voice notes with a voice note")


class WhatsAppPending(BaseModel):
    phone_number: str
    expires_at: datetime


class WhatsAppStatus(BaseModel):
    available: bool = Field(description="Whether this Butler has a WhatsApp number set up")
    business_number: str | None = Field(description="Butler's number, to write to")
    phone_number: str | None = Field(description="Your linked number (E.164), if any")
    voice_replies: bool
    linked_at: datetime | None
    pending: WhatsAppPending | None = Field(description="A code sent and not yet entered")


class WhatsAppProblemOut(BaseModel):
    at: datetime
    phone_number: str | None
    what: str
    detail: str


class WhatsAppAdminStatus(BaseModel):
    configured: bool
    webhook_path: str
    waiting: int = Field(description="Received messages not answered yet")
    problems: list[WhatsAppProblemOut] = Field(description="Newest first")
