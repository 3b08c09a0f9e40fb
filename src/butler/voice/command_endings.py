"""A complete home command ends its turn as soon as the speech does.

The reply to a request is prepared at the speaker's first pause and heard only after
the endpointing wait (`endpointing_min_delay_seconds`, longer if the words or the sound
seem unfinished), which lets a hesitating speaker go on. When the Butler API recognised
the words so far as a complete home command (its fast path answered them), there is
nothing to wait for: the turn ends when the VAD ends the speech, after a shorter quiet
(`command_silence_seconds`), and the reply, already spoken by then, plays at once.

This holds only while those words are still the whole utterance: a word more (the STT
hears speech again) and the ordinary wait is back before the speech can end. With a
slow STT the words come after the speech ended and its wait began: the turn is then
committed at once. The
command is carried out when the reply's turn is committed (voice/agent), never before.
"""

from __future__ import annotations

import logging
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.voice.turn import EndpointingOptions

from butler.config import VoiceSettings
from butler.voice.preflight_stt import PreflightSTT
from butler.voice.turn_detector import ButlerTurnDetector

log = logging.getLogger(__name__)


class CommandEndings:
    def __init__(
        self,
        session: AgentSession[Any],
        transcription: PreflightSTT,
        detector: ButlerTurnDetector,
        settings: VoiceSettings,
    ) -> None:
        self._session = session
        self._transcription = transcription
        self._detector = detector
        self._usual = EndpointingOptions(
            min_delay=settings.endpointing_min_delay_seconds,
            max_delay=settings.endpointing_max_delay_seconds,
        )
        self._vad = transcription.vad  # the session's own (providers.session_vad)
        self._usual_silence = settings.vad_min_silence_seconds
        self._command_silence = min(settings.command_silence_seconds, self._usual_silence)
        self.armed: str | None = None
        self._committed = ""  # the words of the latest committed turn
        transcription.speech_resumed.append(self.disarm)
        session.on("conversation_item_added", self._on_item)

    def recognised(self, transcript: str) -> None:
        """The API answered `transcript` on its fast path: a complete command."""
        heard = self._transcription
        # While the speech goes on: its transcript at the latest pause, if nothing was
        # said since. Once it ended (and nothing new began): its final transcript.
        words = (
            heard.current_guess
            if heard.in_speech
            else (None if heard.transcribing else heard.newest_words)
        )
        if not words or not _same(transcript, words) or _same(words, self._committed):
            return  # spoken again since, earlier words joined, or the turn is over
        self.armed = words
        self._detector.expect_command(words)
        self._session.update_options(endpointing_opts={**self._usual, "min_delay": 0.0})
        self._end_speech_after(self._command_silence)
        log.debug("a complete home command: the turn ends with the speech")
        if not self._transcription.in_speech:
            # The speech ended before the words were known (a slow STT): its wait has
            # begun already, with the usual delay. Decide again, now.
            self._session.commit_user_turn()

    def disarm(self) -> None:
        if self.armed is None:
            return
        self.armed = None
        self._detector.expect_command(None)
        self._session.update_options(endpointing_opts=self._usual)
        self._end_speech_after(self._usual_silence)

    def _end_speech_after(self, seconds: float) -> None:
        # Silero's VAD reads the option at every window: a quiet already longer than
        # `seconds` ends the speech at the next one.
        update = getattr(self._vad, "update_options", None)
        if update is not None:
            update(min_silence_duration=seconds)

    def _on_item(self, event: Any) -> None:
        item = getattr(event, "item", None)
        if getattr(item, "role", None) == "user":
            self._committed = getattr(item, "text_content", None) or ""
            self.disarm()  # the turn was committed: the next one waits as usual


def _same(transcript: str, words: str) -> bool:
    return transcript.strip() == words.strip()
