"""Any OpenAI-compatible chat-completions server (Ollama, vLLM, Groq, OpenAI) through the
official `openai` SDK: streaming with tools. Translation only."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai

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
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
}


def _messages(prompt: Prompt) -> list[dict[str, Any]]:
    system = prompt.system + ("\n\n" + prompt.system_volatile if prompt.system_volatile else "")
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for message in prompt.messages:
        out.extend(_convert(message))
    return out


def _convert(message: Message) -> list[dict[str, Any]]:
    text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
    if message.role == "assistant":
        calls = [
            {
                "id": p.id,
                "type": "function",
                "function": {"name": p.name, "arguments": json.dumps(p.arguments)},
            }
            for p in message.parts
            if isinstance(p, ToolUsePart)
        ]
        converted: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            converted["tool_calls"] = calls
        return [converted]
    results = [
        {"role": "tool", "tool_call_id": p.tool_use_id, "content": p.content}
        for p in message.parts
        if isinstance(p, ToolResultPart)
    ]
    images = [
        {
            "type": "image_url",
            "image_url": {"url": f"data:{p.media_type};base64,{base64.b64encode(p.data).decode()}"},
        }
        for p in message.parts
        if isinstance(p, ImagePart)
    ]
    if images:
        return [*results, {"role": "user", "content": [*images, {"type": "text", "text": text}]}]
    return results + ([{"role": "user", "content": text}] if text else [])


def request_body(prompt: Prompt, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": prompt.max_tokens,
        "messages": _messages(prompt),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if prompt.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in prompt.tools
        ]
    return body


def _translate_error(exc: Exception) -> LLMError:
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return error_for(None, timeout=True)
    if isinstance(exc, openai.APIStatusError):
        return error_for(exc.status_code)
    if isinstance(exc, openai.APIError) and exc.body is not None:
        # An error object inside the stream of a 200 response.
        return error_for(500)
    return error_for(None)


class OpenAICompatProvider(LLMProvider):
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None = None,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(model=model, retry=retry)
        self._client = openai.AsyncOpenAI(
            # Local servers (Ollama, vLLM) take no key, but the SDK insists on one.
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=timeout_seconds,
            max_retries=0,
        )

    async def _stream(self, prompt: Prompt) -> AsyncIterator[LLMEvent]:
        calls: dict[int, dict[str, str]] = {}
        try:
            stream = await self._client.chat.completions.create(**request_body(prompt, self.model))
            async with stream:
                async for chunk in stream:
                    for event in _translate_chunk(chunk, calls):
                        yield event
        except (openai.APIError, httpx2.HTTPError) as exc:
            raise _translate_error(exc) from exc

    async def aclose(self) -> None:
        await self._client.close()


def _translate_chunk(chunk: Any, calls: dict[int, dict[str, str]]) -> list[LLMEvent]:
    events: list[LLMEvent] = []
    if chunk.usage is not None:
        events.append(
            Usage(
                input_tokens=chunk.usage.prompt_tokens or 0,
                output_tokens=chunk.usage.completion_tokens or 0,
            )
        )
    for choice in chunk.choices or ():
        delta = choice.delta
        if delta is not None and delta.content:
            events.append(TextDelta(delta.content))
        for call in (delta.tool_calls if delta is not None else None) or ():
            slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            if call.id:
                slot["id"] = call.id
            if call.function is not None:
                slot["name"] += call.function.name or ""
                slot["arguments"] += call.function.arguments or ""
        if choice.finish_reason:
            for index in sorted(calls):
                slot = calls.pop(index)
                events.append(
                    ToolCall(
                        slot["id"] or f"call_{index}",
                        slot["name"],
                        parse_tool_arguments(slot["arguments"]),
                    )
                )
            events.append(Stop(_STOP_REASONS.get(choice.finish_reason, "other")))
    return events
