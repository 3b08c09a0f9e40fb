"""Claude through the official `anthropic` SDK: streaming Messages API with tool use.

Only translation lives here: our Prompt to the Messages API (with prompt caching on the
tool definitions and the stable system prompt) and raw stream events back to ours.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2

from butler.llm.base import (
    ImagePart,
    LLMError,
    LLMEvent,
    LLMProvider,
    Message,
    Prompt,
    RetryPolicy,
    Stop,
    StopReason,
    TextDelta,
    TextPart,
    ToolCall,
    ToolResultPart,
    ToolUsePart,
    Usage,
    error_for,
    parse_tool_arguments,
)

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
}
_CACHE = {"type": "ephemeral"}


def _content(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": part.media_type,
                        "data": base64.b64encode(part.data).decode(),
                    },
                }
            )
        elif isinstance(part, ToolUsePart):
            blocks.append(
                {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}
            )
        elif isinstance(part, ToolResultPart):
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": part.tool_use_id,
                    "content": part.content,
                    "is_error": part.is_error,
                }
            )
    return blocks


def request_body(prompt: Prompt, model: str) -> dict[str, Any]:
    """The Messages API arguments; cache breakpoints after the tools and the stable system."""
    system: list[dict[str, Any]] = [
        {"type": "text", "text": prompt.system, "cache_control": _CACHE}
    ]
    if prompt.system_volatile:
        system.append({"type": "text", "text": prompt.system_volatile})
    tools = [
        {"name": t.name, "description": t.description, "input_schema": t.parameters}
        for t in prompt.tools
    ]
    if tools:
        tools[-1] = {**tools[-1], "cache_control": _CACHE}
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": prompt.max_tokens,
        "system": system,
        "messages": [{"role": m.role, "content": _content(m)} for m in prompt.messages],
    }
    if tools:
        body["tools"] = tools
    return body


def _translate_error(exc: anthropic.APIError) -> LLMError:
    if isinstance(exc, anthropic.APITimeoutError):
        return error_for(None, timeout=True)
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        kind = str(error.get("type", "")) if isinstance(error, dict) else ""
        # A mid-stream `event: error` arrives on a 200 response: its type says what it is.
        status = exc.status_code if exc.status_code >= 400 else 500
        return error_for(status, kind=kind)
    return error_for(None)


class AnthropicProvider(LLMProvider):
    name = "anthropic"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(model=model, retry=retry)
        # The SDK's own retries are off: LLMProvider.stream retries, and only before the
        # first token.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=0
        )

    async def _stream(self, prompt: Prompt) -> AsyncIterator[LLMEvent]:
        tool_blocks: dict[int, dict[str, Any]] = {}
        try:
            stream = await self._client.messages.create(
                **request_body(prompt, self.model), stream=True
            )
            async with stream:
                async for event in stream:
                    for translated in _translate_event(event, tool_blocks):
                        yield translated
        except anthropic.APIError as exc:
            raise _translate_error(exc) from exc
        except httpx2.HTTPError as exc:  # raised while reading the stream itself
            raise error_for(None, timeout=isinstance(exc, httpx2.TimeoutException)) from exc

    async def aclose(self) -> None:
        await self._client.close()


def _translate_event(event: Any, tool_blocks: dict[int, dict[str, Any]]) -> list[LLMEvent]:
    kind = event.type
    if kind == "message_start":
        usage = event.message.usage
        return [
            Usage(
                input_tokens=usage.input_tokens or 0,
                cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
                cache_write_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
            )
        ]
    if kind == "content_block_start" and event.content_block.type == "tool_use":
        block = event.content_block
        tool_blocks[event.index] = {"id": block.id, "name": block.name, "json": ""}
        return []
    if kind == "content_block_delta":
        delta = event.delta
        if delta.type == "text_delta" and delta.text:
            return [TextDelta(delta.text)]
        if delta.type == "input_json_delta" and event.index in tool_blocks:
            tool_blocks[event.index]["json"] += delta.partial_json
        return []
    if kind == "content_block_stop" and event.index in tool_blocks:
        block = tool_blocks.pop(event.index)
        return [ToolCall(block["id"], block["name"], parse_tool_arguments(block["json"]))]
    if kind == "message_delta":
        events: list[LLMEvent] = [Usage(output_tokens=event.usage.output_tokens or 0)]
        reason = event.delta.stop_reason
        if reason:
            events.append(Stop(_STOP_REASONS.get(reason, "other")))
        return events
    return []
