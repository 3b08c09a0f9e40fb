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
from typing import Protocol

from livekit.agents import LanguageCode, llm

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


class Transcription(Protocol):
    """What the detector needs to know of the STT (voice/preflight_stt.PreflightSTT)."""

    @property
    def transcribing(self) -> bool:
        """Speech has begun whose final transcript is not out yet."""

    @property
    def newest_words(self) -> str:
        """The latest final transcript."""

    async def delivered(self) -> None:
        """Return once nothing is being transcribed."""


class TextTurnDetector:
    """The rule above, plus one fact the text alone cannot give: whether words are still
    being transcribed. livekit decides on the end of a turn when the VAD says speech
    stopped, even if the words of that newest stretch of speech (or of the one before,
    on a slow machine) are still in the STT; the decision would then see only older
    words ("remind me to call my…") and commit them as the whole request. So while the
    STT has words outstanding, the prediction waits for them: their arrival makes
    livekit start the decision again with every word (cancelling this one), and new
    speech cancels it too; if the decision goes on, it is made on the newest words. If
    they never come (a stalled STT), the turn counts as unfinished and the longer
    endpointing delay applies.

    Only the STT can say which speech its transcripts cover: counting the VAD's
    stretches of speech here goes wrong when a transcript of older speech arrives while
    the person is speaking again."""

    def __init__(self) -> None:
        self._transcription: Transcription | None = None

    def follow(self, transcription: Transcription) -> None:
        """Wait for this STT's words (call once, before the session starts). Without
        one, the text rule alone decides."""
        self._transcription = transcription

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
        transcription = self._transcription
        if transcription is not None and transcription.transcribing:
            try:
                await asyncio.wait_for(transcription.delivered(), WORDS_TIMEOUT)
            except TimeoutError:
                return UNFINISHED
            # The chat context predates these words; whether the turn is over depends
            # on how the newest words end.
            return end_of_turn_probability(transcription.newest_words)
        for item in reversed(chat_ctx.items):
            if isinstance(item, llm.ChatMessage) and item.role == "user":
                return end_of_turn_probability(item.text_content or "")
        return FINISHED
