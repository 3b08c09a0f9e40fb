"""The LLM interface: a provider streams typed events for one request.

Vendor modules (anthropic.py, openai_compat.py) only translate between these types and
their SDK; retries, timeouts and error semantics live here, written once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from butler.errors import ButlerError

log = logging.getLogger(__name__)


# --- conversation -------------------------------------------------------------------


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ToolUsePart:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolResultPart:
    tool_use_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class ImagePart:
    """A picture the person sent (a WhatsApp photo), for models that can see."""

    media_type: str  # image/jpeg, image/png, image/webp or image/gif
    data: bytes


Part = TextPart | ImagePart | ToolUsePart | ToolResultPart


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    parts: tuple[Part, ...]

    @classmethod
    def user(cls, text: str) -> Message:
        return cls("user", (TextPart(text),))

    @classmethod
    def user_with_images(cls, text: str, images: tuple[ImagePart, ...]) -> Message:
        return cls("user", (*images, TextPart(text)))

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", (TextPart(text),))


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Prompt:
    """One request: `system` is stable (cacheable); `system_volatile` changes per turn."""

    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    system_volatile: str = ""
    max_tokens: int = 1024


# --- stream events ------------------------------------------------------------------

StopReason = Literal["end_turn", "tool_use", "max_tokens", "other"]


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Stop:
    reason: StopReason


LLMEvent = TextDelta | ToolCall | Usage | Stop


# --- errors -------------------------------------------------------------------------


class LLMError(ButlerError):
    """A provider failure, already phrased for a person."""

    code = "llm_error"
    status = 502

    def __init__(self, message: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable


class LLMNotConfigured(ButlerError):
    code = "llm_not_configured"
    status = 503


# --- provider -----------------------------------------------------------------------


@dataclass
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: tuple[float, ...] = field(default=(0.2, 0.5, 1.0))


class LLMProvider(ABC):
    """One vendor. `_stream` translates; `stream` adds the shared retry behaviour."""

    name: str = "llm"
    # Whether the model is given the pictures people send (ImagePart) or told of them.
    sees_images: bool = False

    def __init__(self, *, model: str, retry: RetryPolicy | None = None) -> None:
        self.model = model
        self.retry = retry or RetryPolicy()

    @abstractmethod
    def _stream(self, prompt: Prompt) -> AsyncIterator[LLMEvent]:
        """Stream one attempt; raise LLMError for every vendor failure."""

    async def stream(self, prompt: Prompt) -> AsyncGenerator[LLMEvent]:
        """Stream events, retrying retryable failures until the first event arrives.

        Once anything has been yielded a retry would repeat it to the listener, so a
        later failure is raised as it is.
        """
        for attempt in range(1, self.retry.attempts + 1):
            started = stopped = False
            try:
                async for event in self._stream(prompt):
                    started = True
                    stopped = stopped or isinstance(event, Stop)
                    yield event
                if stopped:
                    return
                raise LLMError(
                    "My language model's answer was cut off.",
                    retryable=True,
                    code="llm_broken_stream",
                )
            except LLMError as exc:
                if started or not exc.retryable or attempt == self.retry.attempts:
                    raise
                delay = self.retry.backoff_seconds[
                    min(attempt - 1, len(self.retry.backoff_seconds) - 1)
                ]
                log.warning(
                    "%s attempt %d failed before the first token (%s); retrying in %.1fs",
                    self.name,
                    attempt,
                    exc.code,
                    delay,
                )
                await asyncio.sleep(delay)

    async def aclose(self) -> None:  # noqa: B027 (optional hook, most providers keep nothing)
        """Release pooled connections."""


def error_for(status: int | None, *, kind: str = "", timeout: bool = False) -> LLMError:
    """Our error for a vendor failure: HTTP status (None: no response) and error type."""
    if timeout:
        # Not retried: another attempt would double a wait the listener already sat through.
        return LLMError(
            "My language model took too long to answer.", retryable=False, code="llm_timeout"
        )
    if status is None:
        return LLMError(
            "I can't reach my language model right now.", retryable=True, code="llm_unreachable"
        )
    if status == 529 or kind == "overloaded_error":
        return LLMError(
            "My language model is overloaded right now.", retryable=True, code="llm_overloaded"
        )
    if status == 429 or kind == "rate_limit_error":
        return LLMError(
            "My language model is rate limiting me right now.",
            retryable=True,
            code="llm_rate_limited",
        )
    if status in (401, 403) or kind in ("authentication_error", "permission_error"):
        return LLMError(
            "My language model refused Butler's credentials; check BUTLER_LLM__API_KEY.",
            retryable=False,
            code="llm_auth",
        )
    if status >= 500 or kind == "api_error":
        return LLMError(
            "My language model had an internal error.", retryable=True, code="llm_server_error"
        )
    return LLMError(
        "My language model could not handle that request.", retryable=False, code="llm_rejected"
    )


def parse_tool_arguments(raw: str) -> dict[str, Any]:
    """A tool call's JSON arguments, streamed in pieces and joined by the vendor module."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LLMError(
            "My language model sent a broken tool call.", retryable=False, code="llm_bad_output"
        ) from exc
    return parsed if isinstance(parsed, dict) else {"value": parsed}
