"""Transcripts that are not a request: hesitation sounds, and acknowledgements made
while the butler is talking.

A user who says "hmm" or coughs is not asking anything; whisper writes such sounds as
"Hmm", "um" or "[coughs]". And "mm-hmm" or "yeah" said over the butler's reply means
"go on", not "stop". Dropping these transcripts lets livekit-agents treat the sound
as a false interruption: the paused reply resumes instead of being cut off.
"""

from __future__ import annotations

import re

HESITATIONS = frozenset(
    {"um", "umm", "ummm", "uh", "uhh", "uhm", "er", "erm", "hm", "hmm", "hmmm", "mm", "mmm"}
    | {"ah", "ahh", "aah", "oh", "ooh"}
)  # not "huh?" or "eh?": those ask for the last thing said again
# Said over someone else's speech these mean "I'm listening"; said alone they answer.
ACKNOWLEDGEMENTS = frozenset(
    {"mhm", "mhmm", "mmhmm", "mm-hmm", "uh-huh", "uhhuh", "yeah", "yep", "yup", "yes"}
    | {"okay", "ok", "right", "sure"}
)
_SOUND_TAG = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪")
# Digits are words: whisper writes "thirty percent" as "30%", and a number said after a
# pause ("dim the lights to … thirty percent") is often a transcript of its own.
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def words_of(text: str) -> list[str]:
    return _WORD.findall(_SOUND_TAG.sub(" ", text.lower()))


def is_not_a_request(text: str, *, butler_speaking: bool) -> bool:
    """True for a transcript with no words, only hesitation sounds, or (while the
    butler is speaking) only acknowledgements."""
    allowed = HESITATIONS | ACKNOWLEDGEMENTS if butler_speaking else HESITATIONS
    return all(word in allowed for word in words_of(text))
