"""The voices a person may choose for their butler.

Kokoro voice ids (the production TTS) plus the local Piper voice. The voice worker maps
an id it cannot speak to its own default, so a stored choice never breaks a session.
"""

from __future__ import annotations

DEFAULT_VOICE = "bf_emma"

VOICES: dict[str, str] = {
    "bf_emma": "Emma (British English, female)",
    "bf_isabella": "Isabella (British English, female)",
    "bm_george": "George (British English, male)",
    "bm_lewis": "Lewis (British English, male)",
    "af_heart": "Heart (American English, female)",
    "af_bella": "Bella (American English, female)",
    "af_nicole": "Nicole (American English, female)",
    "af_sarah": "Sarah (American English, female)",
    "am_adam": "Adam (American English, male)",
    "am_michael": "Michael (American English, male)",
    "piper_joe": "Joe (American English, male; local Piper voice)",
}
