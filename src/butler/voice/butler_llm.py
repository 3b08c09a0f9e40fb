"""The LLM step of the voice pipeline: the Butler API's voice stream, not an LLM vendor.

The worker presents the voice-session credential from the room's dispatch metadata; the
API decides who the user is from it. If the API is unreachable, slow or fails before
saying anything, the stream speaks a short apology instead, so the listener is never
left in silence and the session keeps listening.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, llm
from livekit.agents.types import NOT_GIVEN, NotGivenOr

log = logging.getLogger(__name__)
HOME_FAST_PATH = "home_fast_path"  # the API's tool name for a home command it understood


@dataclass
class TurnOutcome:
    """What the last turn told the worker, read by the agent after it speaks."""

    should_end: bool = False
    first_token_ms: float | None = None
    failed: bool = False
    request_started: float = 0.0
    turn_id: str | None = None
    transcript: str = ""
    home_action_id: str | None = None  # to carry out once the reply is heard


@dataclass
class ButlerAPI:
    """Connection details for one voice session."""

    base_url: str
    credential: str
    session_id: str
    timeout_seconds: float = 8.0
    apology: str = "Sorry, I can't think straight right now. Please try again in a moment."
    ca_file: Path | None = None  # trusted for base_url besides the public authorities
    client: httpx.AsyncClient | None = None
    outcome: TurnOutcome = field(default_factory=TurnOutcome)
    # Told the words the API answered on its home fast path (voice/command_endings).
    complete_command: Callable[[str], None] | None = None
    # One id for every request of one user turn: preemptive generation may ask on an
    # early transcript ("remind me to call my") and again on the whole one, each with
    # a new chat message; the API keeps one stored turn per id, the latest.
    turn_key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def next_turn(self) -> None:
        """The butler has answered: the next request belongs to a new user turn."""
        self.turn_key = uuid.uuid4().hex

    def http(self) -> httpx.AsyncClient:
        # One kept-alive client per session: the connection is warm for every turn.
        if self.client is None:
            self.client = httpx.AsyncClient(
                base_url=self.base_url,
                headers={"Authorization": f"Bearer {self.credential}"},
                timeout=httpx.Timeout(self.timeout_seconds, connect=2.0),
                verify=_trusting(self.ca_file),
            )
        return self.client

    async def profile(self) -> dict[str, Any]:
        """The user's display name, voice and timezone, for this session."""
        response = await self.http().get("/api/voice/me")
        response.raise_for_status()
        profile: dict[str, Any] = response.json()
        return profile

    async def report(self, path: str, body: dict[str, Any]) -> None:
        """Best effort: a lost report must never disturb the conversation."""
        try:
            response = await self.http().post(path, json=body)
            if response.status_code >= 400:
                log.warning("Butler API refused %s: %s", path, response.status_code)
        except httpx.HTTPError as exc:
            log.warning("could not report %s: %s", path, exc)

    async def carry_out(self, action_id: str) -> tuple[bool, str]:
        """Carry out a home action the reply announced; (done, a sentence to say if not)."""
        try:
            response = await self.http().post(f"/api/voice/home-actions/{action_id}")
            if response.status_code == 200:
                found = response.json()
                return bool(found["ok"]), str(found["said"])
            log.warning("Butler API refused a home action: %s", response.status_code)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("could not carry out a home action: %s", exc)
        return False, "Sorry, I couldn't reach the house to do that."

    async def notices(self, wait: float) -> list[str] | None:
        """Sentences to say now: reminders and timers that fired for this person, waiting
        up to `wait` seconds for one. None once the session's credential is refused."""
        response = await self.http().get(
            "/api/voice/notices", params={"wait": wait}, timeout=wait + self.timeout_seconds
        )
        if response.status_code in (401, 403):
            return None
        response.raise_for_status()
        return [str(n["spoken"]) for n in response.json()["notices"]]

    async def end_session(self) -> None:
        """The person left: the API revokes this credential and closes the room."""
        await self.report("/api/voice/end", {})

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None


def unanswered_words(chat_ctx: llm.ChatContext) -> str:
    """What the user has said since the butler was last heard.

    Usually one message. A reply interrupted before any of it was heard leaves no
    message behind (livekit keeps only what was spoken), so a speaker who paused
    ("remind me to call mum") and went on ("at six") while the reply was still being
    prepared is asked about as one request, under the same turn id (see ButlerAPI)."""
    said: list[str] = []
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage):
            if item.role == "assistant":
                break
            if item.role == "user" and (item.text_content or "").strip():
                said.append((item.text_content or "").strip())
    return " ".join(reversed(said))


class ButlerLLM(llm.LLM):
    def __init__(self, api: ButlerAPI) -> None:
        super().__init__()
        self.api = api

    @property
    def model(self) -> str:
        return "butler-api"

    @property
    def provider(self) -> str:
        return "butler"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _ButlerStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


def _sse_events(lines: list[str]) -> tuple[str, dict[str, Any]] | None:
    name = next((ln[7:] for ln in lines if ln.startswith("event: ")), None)
    data = next((ln[6:] for ln in lines if ln.startswith("data: ")), None)
    if name is None or data is None:
        return None
    try:
        return name, json.loads(data)
    except json.JSONDecodeError:
        return None


class _ButlerStream(llm.LLMStream):
    async def _run(self) -> None:
        api: ButlerAPI = self._llm.api  # type: ignore[attr-defined]
        transcript = unanswered_words(self._chat_ctx)
        outcome = TurnOutcome(request_started=time.perf_counter(), turn_id=api.turn_key)
        api.outcome = outcome
        if not transcript:
            return
        outcome.transcript = transcript
        spoke = False
        body = {"transcript": transcript, "session_id": api.session_id, "turn_id": outcome.turn_id}
        try:
            async with api.http().stream("POST", "/api/voice/stream", json=body) as response:
                if response.status_code != 200:
                    raise httpx.HTTPStatusError(
                        f"HTTP {response.status_code}", request=response.request, response=response
                    )
                block: list[str] = []
                async for line in response.aiter_lines():
                    if line:
                        block.append(line)
                        continue
                    event, block = _sse_events(block), []
                    if event is None:
                        continue
                    name, data = event
                    if name == "text_delta" and data.get("text"):
                        if outcome.first_token_ms is None:
                            outcome.first_token_ms = (
                                time.perf_counter() - outcome.request_started
                            ) * 1000
                        spoke = True
                        self._send(data["text"])
                    elif name == "tool_started" and data.get("name") == HOME_FAST_PATH:
                        if api.complete_command is not None:
                            api.complete_command(transcript)
                    elif name == "done":
                        outcome.should_end = bool(data.get("should_end_turn"))
                        outcome.home_action_id = data.get("home_action_id")
                    elif name == "error":
                        log.warning("Butler API turn failed: %s", data.get("code"))
                        outcome.failed = True
                        break
        except httpx.HTTPError as exc:
            log.warning("Butler API unreachable or failing: %s", exc)
            outcome.failed = True
        if outcome.failed and not spoke:
            self._send(api.apology)

    def _send(self, text: str) -> None:
        self._event_ch.send_nowait(
            llm.ChatChunk(id="butler", delta=llm.ChoiceDelta(role="assistant", content=text))
        )


def _trusting(ca_file: Path | None) -> ssl.SSLContext | bool:
    if ca_file is None:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_file)
    return context
