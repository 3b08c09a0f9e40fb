"""What the brain yields. The SSE route, the JSON route, WhatsApp and the voice stream all
consume the same iterator of these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolStarted:
    id: str
    name: str
    label: str


@dataclass(frozen=True)
class ToolFinished:
    id: str
    name: str
    ok: bool


@dataclass(frozen=True)
class TurnFinished:
    message_id: int | None  # None for a temporary turn that is not stored
    text: str
    should_end_turn: bool
    # A home action planned for when the reply is heard (TurnRequest.act_when_heard).
    home_action_id: uuid.UUID | None = None


@dataclass(frozen=True)
class TurnFailed:
    code: str
    message: str
    retryable: bool


AgentEvent = TextDelta | ToolStarted | ToolFinished | TurnFinished | TurnFailed
