"""A local, text-based end-of-turn guess, so a speaker who pauses mid-sentence is not
answered half-way ("turn off the ... kitchen lights").

livekit-agents asks a turn detector how likely the transcript so far is a finished
turn: below `unlikely_threshold` it waits the longer endpointing delay for more speech,
otherwise the short one. The framework's own detector downloads a model or calls
LiveKit Cloud; this one is a handful of rules that run anywhere in microseconds.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from livekit.agents import AgentSession, LanguageCode, llm

# Words a finished English request rarely ends with: articles, prepositions,
# conjunctions, possessives, auxiliaries and fillers.
UNFINISHED_ENDINGS = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "from",
        "with",
        "without",
        "about",
        "into",
        "onto",
        "at",
        "in",
        "on",
        "by",
        "as",
        "than",
        "and",
        "or",
        "but",
        "so",
        "because",
        "if",
        "when",
        "while",
        "until",
        "unless",
        "that",
        "which",
        "who",
        "whose",
        "whom",
        "where",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "its",
        "this",
        "these",
        "those",
        "some",
        "any",
        "every",
        "each",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "um",
        "uh",
        "er",
        "erm",
        "hmm",
        "like",
        "i",
        "we",
        "you",
        "they",
        "he",
        "she",
        "it",
        "let",
        "me",
    ]
)
WORDS_TIMEOUT = 5.0  # seconds to wait for the transcript of speech that just ended
FINISHED = 0.9
UNFINISHED = 0.05
_WORD = re.compile(r"[a-z']+")


def end_of_turn_probability(text: str) -> float:
    words = _WORD.findall(text.lower())
    if not words:
        return UNFINISHED
    if text.rstrip().endswith(("...", "…", ",", "-", "—")):
        return UNFINISHED
    return UNFINISHED if words[-1] in UNFINISHED_ENDINGS else FINISHED


class TextTurnDetector:
    """The rule above, plus one fact the text alone cannot give: whether the speaker
    has spoken again since the last final transcript. livekit decides on the end of a
    turn when speech stops, even if the words of that newest stretch of speech are
    still being transcribed; the decision would then see only the words before it
    ("remind me to call my…") and commit them as the whole request. So while words
    are outstanding the prediction waits for them: their arrival makes livekit start
    the decision again with every word (cancelling this one), and new speech cancels
    it too, and if the decision goes on it is made on the newest words. If they never
    come (the STT heard only noise), the turn counts as unfinished and the longer
    endpointing delay applies.

    Stretches of speech are counted from their start, not their end: an STT that
    transcribes at the first pause (voice/preflight_stt.py) may deliver the final words
    before the VAD reports the end of the speech they came from."""

    def __init__(self) -> None:
        self._stretches = 0  # stretches of speech begun
        self._heard = 0  # stretches begun before the latest final transcript
        self._words = asyncio.Event()
        self._last_words = ""

    @property
    def awaiting_words(self) -> bool:
        return self._stretches > self._heard

    def watch(self, session: AgentSession[Any]) -> None:
        """Follow the session's speech and transcripts (call once, after creating it)."""

        @session.on("user_state_changed")
        def _speech(event: Any) -> None:
            if event.new_state == "speaking" and event.old_state != "speaking":
                self._stretches += 1
                self._words.clear()

        @session.on("user_input_transcribed")
        def _words(event: Any) -> None:
            if event.is_final:
                self._heard = self._stretches
                self._last_words = str(event.transcript or "")
                self._words.set()

    @property
    def model(self) -> str:
        return "butler-text-rules"

    @property
    def provider(self) -> str:
        return "butler"

    async def unlikely_threshold(self, language: LanguageCode | None) -> float | None:
        return 0.3

    async def supports_language(self, language: LanguageCode | None) -> bool:
        return language is None or str(language).lower().startswith("en")

    async def predict_end_of_turn(  # the framework's protocol names it `timeout`
        self,
        chat_ctx: llm.ChatContext,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> float:
        if self.awaiting_words:
            try:
                await asyncio.wait_for(self._words.wait(), WORDS_TIMEOUT)
            except TimeoutError:
                return UNFINISHED
            # The chat context predates these words; whether the turn is over depends
            # on how the newest words end.
            return end_of_turn_probability(self._last_words)
        for item in reversed(chat_ctx.items):
            if isinstance(item, llm.ChatMessage) and item.role == "user":
                return end_of_turn_probability(item.text_content or "")
        return FINISHED
