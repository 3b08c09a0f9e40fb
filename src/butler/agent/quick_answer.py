"""An answer made without the language model (a home command, a timer): the brain
shows, audits and stores it as it would a tool call and its reply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QuickAnswer:
    text: str
    tool: str  # the name it is audited under
    arguments: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    duration_ms: int = 0
    # Planned, not yet done: the caller carries it out once the reply is heard.
    heard_action: uuid.UUID | None = None
    label: str = "Working the house"  # shown while it runs
