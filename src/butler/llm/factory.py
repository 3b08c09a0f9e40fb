"""Build the configured LLM provider, or explain why there is none."""

from __future__ import annotations

from butler.config import LLMSettings
from butler.llm.anthropic import AnthropicProvider
from butler.llm.base import LLMProvider, RetryPolicy
from butler.llm.openai_compat import OpenAICompatProvider


def build_provider(settings: LLMSettings) -> tuple[LLMProvider | None, str]:
    """The provider and a description, or None and what the operator must set."""
    retry = RetryPolicy(attempts=settings.retry_attempts)
    key = settings.key()
    if settings.provider == "anthropic":
        if not key:
            return None, (
                "No language model: set ANTHROPIC_API_KEY (or BUTLER_LLM__API_KEY), or "
                "BUTLER_LLM__PROVIDER=openai with BUTLER_LLM__BASE_URL for a local server."
            )
        provider: LLMProvider = AnthropicProvider(
            model=settings.model,
            api_key=key,
            base_url=settings.base_url,
            timeout_seconds=settings.timeout_seconds,
            retry=retry,
        )
    else:
        if not key and not settings.base_url:
            return None, (
                "No language model: BUTLER_LLM__PROVIDER=openai needs BUTLER_LLM__BASE_URL "
                "(e.g. http://localhost:11434/v1 for Ollama) or BUTLER_LLM__API_KEY."
            )
        provider = OpenAICompatProvider(
            model=settings.model,
            api_key=key,
            base_url=settings.base_url,
            timeout_seconds=settings.timeout_seconds,
            retry=retry,
        )
    # Claude sees pictures; an OpenAI-compatible server's model may not: it says so.
    provider.sees_images = (
        settings.vision if settings.vision is not None else settings.provider == "anthropic"
    )
    where = settings.base_url or "the vendor's API"
    return provider, f"{settings.provider} model {settings.model} at {where}"
