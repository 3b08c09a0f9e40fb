"""A local, text-based end-of-turn guess, so a speaker who pauses mid-sentence is not
answered half-way ("turn off the ... kitchen lights").

livekit-agents asks a turn detector how likely the transcript so far is a finished
turn: below `unlikely_threshold` it waits the longer endpointing delay for more speech,
otherwise the short one. The framework's own detector downloads a model or calls
LiveKit Cloud; this one is a handful of rules that run anywhere in microseconds.
"""

from __future__ import annotations

import re

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
        for item in reversed(chat_ctx.items):
            if isinstance(item, llm.ChatMessage) and item.role == "user":
                return end_of_turn_probability(item.text_content or "")
        return FINISHED
