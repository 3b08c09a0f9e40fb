"""What the chat and voice routes share about starting a turn."""

from __future__ import annotations

from butler.agent.brain import Brain
from butler.api.deps import Services
from butler.llm.base import LLMNotConfigured


def ensure_ready(services: Services) -> Brain:
    """The brain, or a 503 that tells the operator what to configure."""
    if not services.brain.ready:
        raise LLMNotConfigured(services.llm_status)
    return services.brain
