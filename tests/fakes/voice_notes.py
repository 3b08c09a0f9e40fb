"""WhatsApp voice notes of generated speech: espeak-ng's words as a real OGG/Opus file, as
a phone would send one."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

from butler.channels.whatsapp.voice_audio import encode_voice_note

DEFAULT_SPEED = 150  # words a minute, as the voice tests' `speak` fixture


def spoken_pcm(text: str, voice: str = "en-us", *, speed: int = DEFAULT_SPEED) -> tuple[bytes, int]:
    """espeak-ng saying `text`: 16-bit little-endian mono PCM and its sample rate."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required: apt-get install espeak-ng"
    result = subprocess.run(
        [espeak, "--stdout", "-v", voice, "-s", str(speed), text],
        check=True,
        capture_output=True,
    )
    # On a pipe espeak-ng cannot go back to write the lengths in the header, so it puts
    # a huge one there; `wave` reads what is really there.
    with wave.open(io.BytesIO(result.stdout), "rb") as handle:
        assert handle.getnchannels() == 1 and handle.getsampwidth() == 2
        rate = handle.getframerate()
        pcm = handle.readframes(handle.getnframes())
    return pcm, rate


def spoken_voice_note(text: str, voice: str = "en-us", *, speed: int = DEFAULT_SPEED) -> bytes:
    """espeak-ng saying `text`, as the OGG/Opus voice note WhatsApp would carry."""
    pcm, rate = spoken_pcm(text, voice, speed=speed)
    return encode_voice_note(pcm, rate)
