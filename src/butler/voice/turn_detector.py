"""The end-of-turn judgement, so a speaker who pauses mid-sentence is not answered
half-way ("turn off the ... kitchen lights").

livekit-agents asks a turn detector how likely the turn so far is finished: below
`unlikely_threshold` it waits the longer endpointing delay for more speech, otherwise
the short one (the reply is prepared meanwhile either way; it is heard only after the
wait). Butler's detector judges from the words (a handful of rules that run anywhere in
microseconds) and, if configured, from the sound of the speech's end (an audio model,
voice/turn_models): the turn is over only when every judge says so. The framework's own
detector may call LiveKit Cloud; nothing here leaves the machine.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Protocol

from livekit.agents import LanguageCode, llm

from butler.voice.turn_models import Audio, AudioTurnModel

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
        # what is said, called or named comes next
        "saying",
        "says",
        "called",
        "named",
    ]
)
# "On" and "in" end a request as a phrasal verb's particle ("turn the lights on", "put
# the kettle on") but leave it open as a preposition ("remind me on …", "turn on …").
# They close it when one of these verbs came earlier with its object between.
_PARTICLES = frozenset(["on", "in"])
_PHRASAL_VERBS = frozenset(
    ["turn", "switch", "put", "leave", "keep", "plug", "log", "sign", "hold", "let", "lock"]
)
_OBJECT_PRONOUNS = frozenset(["it", "them", "me", "us"])
_VERB_PARTICLES = frozenset(["on", "off", "in", "out", "up", "down", "over"])
# A question may end on "it" ("what time is it?"). Not on "you", "me", "that": whisper
# puts a question mark after fragments such as "can you …" and "what time does that …".
_QUESTION_ENDINGS = frozenset(["it"])
log = logging.getLogger(__name__)
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
    if text.rstrip().endswith("?") and words[-1] in _QUESTION_ENDINGS:
        return FINISHED
    if words[-1] in _PARTICLES and _particle_of_a_verb(words):
        return FINISHED
    return UNFINISHED if words[-1] in UNFINISHED_ENDINGS else FINISHED


def _particle_of_a_verb(words: list[str]) -> bool:
    """'turn the lights on': a phrasal verb, its object, then the particle."""
    if len(words) < 3:
        return False
    last_of_object = words[-2]
    if last_of_object in UNFINISHED_ENDINGS and last_of_object not in _OBJECT_PRONOUNS:
        return False  # "turn the heating on in", "put the"
    # The verb must take its object first: in "switch off everything in" the particle
    # came already and the "in" is a preposition still waiting for its place.
    return any(
        word in _PHRASAL_VERBS and words[i + 1] not in _VERB_PARTICLES
        for i, word in enumerate(words[:-2])
    )


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

    def recent_audio(self, seconds: float) -> Audio:
        """The last `seconds` of what the microphone heard, 16 kHz mono."""

    @property
    def speech_ended_at(self) -> float | None:
        """time.time() when the latest stretch of speech ended."""


class ButlerTurnDetector:
    """The text rule above and, optionally, an audio model. Three verdicts:
    - the words look unfinished: the long endpointing delay (`max_delay`);
    - the words look finished and so does the sound (or there is no audio model): the
      short one (`min_delay`);
    - the words look finished but the sound does not ("what is the weather … like
      tomorrow"): unsure, so the turn waits `unsure_delay` after the end of the speech
      before it is committed (new speech meanwhile cancels the decision). The reply is
      prepared meanwhile either way; only hearing it waits.

    The words: livekit decides on the end of a turn when the VAD says speech stopped,
    even if the words of that newest stretch of speech (or of the one before, on a slow
    machine) are still in the STT; the decision would then see only older words
    ("remind me to call my…") and commit them as the whole request. So while the STT has
    words outstanding, the prediction waits for them: their arrival makes livekit start
    the decision again with every word (cancelling this one), and new speech cancels it
    too; if the decision goes on, it is made on the newest words. If they never come (a
    stalled STT), the turn counts as unfinished and the longer endpointing delay
    applies. Only the STT can say which speech its transcripts cover: counting the VAD's
    stretches of speech here goes wrong when a transcript of older speech arrives while
    the person is speaking again.

    The sound: taken as the decision starts (the speech and the silence after it), and
    judged on a worker thread while the words are awaited."""

    def __init__(
        self,
        *,
        text: bool = True,
        audio_model: AudioTurnModel | None = None,
        unsure_delay: float = 1.0,
    ) -> None:
        if not text and audio_model is None:
            raise ValueError("a turn detector needs the text rule, an audio model or both")
        self._text = text
        self._audio_model = audio_model
        self.unsure_delay = unsure_delay
        self._transcription: Transcription | None = None
        self._complete_command: str | None = None

    def expect_command(self, words: str | None) -> None:
        """These words were recognised as a complete home command (command_endings):
        when they are the turn's words, the turn is over, whatever else would say."""
        self._complete_command = words.strip() if words else None

    def follow(self, transcription: Transcription) -> None:
        """Wait for this STT's words and listen to its audio (call once, before the
        session starts). Without one, the text rule alone decides."""
        self._transcription = transcription

    @property
    def model(self) -> str:
        judges = (["butler-text-rules"] if self._text else []) + (
            [self._audio_model.name] if self._audio_model else []
        )
        return " + ".join(judges)

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
        transcription, model = self._transcription, self._audio_model
        command = self._complete_command
        if command is not None and (await self._newest_words() or "").strip() == command:
            return FINISHED
        if model is None or transcription is None:
            return await self._by_words(chat_ctx) if self._text else FINISHED
        audio = transcription.recent_audio(model.seconds)
        heard = asyncio.ensure_future(asyncio.to_thread(model.probability, audio))
        try:
            if self._text and await self._by_words(chat_ctx) == UNFINISHED:
                return UNFINISHED
            if await self._sounds_finished(heard, model):
                return FINISHED
            if not self._text:
                return UNFINISHED  # the sound alone decides: the long wait
            await self._be_patient()
            return FINISHED
        finally:
            heard.cancel()

    @staticmethod
    async def _sounds_finished(heard: asyncio.Future[float], model: AudioTurnModel) -> bool:
        try:
            return await heard >= model.threshold
        except Exception:  # the words still decide; a broken model must not stall turns
            log.exception("the end-of-turn model %s failed; judging by the words", model.name)
            return True

    async def _be_patient(self) -> None:
        """Hold the decision until `unsure_delay` after the end of the speech."""
        ended = self._transcription.speech_ended_at if self._transcription else None
        wait = self.unsure_delay if ended is None else ended + self.unsure_delay - time.time()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _by_words(self, chat_ctx: llm.ChatContext) -> float:
        transcription = self._transcription
        if transcription is not None and transcription.transcribing:
            if not await _delivered(transcription):
                return UNFINISHED
            # The chat context predates these words; whether the turn is over depends
            # on how the newest words end.
            return end_of_turn_probability(transcription.newest_words)
        for item in reversed(chat_ctx.items):
            if isinstance(item, llm.ChatMessage) and item.role == "user":
                return end_of_turn_probability(item.text_content or "")
        return FINISHED

    async def _newest_words(self) -> str | None:
        """The STT's latest words, once delivered; None without them."""
        transcription = self._transcription
        if transcription is None:
            return None
        if transcription.transcribing and not await _delivered(transcription):
            return None
        return transcription.newest_words


async def _delivered(transcription: Transcription) -> bool:
    try:
        await asyncio.wait_for(transcription.delivered(), WORDS_TIMEOUT)
    except TimeoutError:
        return False
    return True
