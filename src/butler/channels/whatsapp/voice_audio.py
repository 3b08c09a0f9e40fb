"""Voice notes in and out of WhatsApp: any audio file to whisper's input, and speech to
the OGG/Opus file WhatsApp shows as a voice note.

WhatsApp records voice notes as Opus in an OGG container; people also forward other
audio (m4a/AAC, MP3, ...), so decoding takes anything with an audio stream that FFmpeg
(through PyAV) can read. Both functions are CPU-bound and synchronous: callers run
them in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import io
from typing import Any

import av
import numpy as np
from av.audio.stream import AudioStream

from butler.errors import InvalidInput

# Whisper's input: mono float32 at 16 kHz.
WHISPER_RATE = 16_000
DEFAULT_MAX_SECONDS = 600.0

# What WhatsApp accepts as a voice note: OGG, the Opus codec only, mono. Opus runs at
# 48 kHz inside; 32 kbit/s is plenty for speech (WhatsApp's own notes use less).
OPUS_RATE = 48_000
OPUS_BIT_RATE = 32_000

Samples = np.ndarray[Any, np.dtype[np.float32]]


def decode_voice_note(data: bytes, *, max_seconds: float = DEFAULT_MAX_SECONDS) -> Samples:
    """The audio in `data` (a voice note or any audio file) as mono float32 samples at
    16 kHz, in [-1, 1].

    Raises InvalidInput when `data` is not audio FFmpeg can decode, has no audio stream
    or no samples, or is longer than `max_seconds` (decoding stops as soon as the limit
    is passed, so an hour-long file costs no more than the limit)."""
    if not data:
        raise InvalidInput("The voice note is empty.")
    limit = int(max_seconds * WHISPER_RATE)
    chunks: list[Samples] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.best("audio")
            if not isinstance(stream, AudioStream):
                raise InvalidInput("The file has no audio in it.")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=WHISPER_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(_mono(out))
                    total += out.samples
                if total > limit:
                    raise _too_long(max_seconds)
            for out in resampler.resample(None):
                chunks.append(_mono(out))
                total += out.samples
    except (av.FFmpegError, ValueError) as exc:
        # ValueError: PyAV's own complaints about a stream it cannot handle (such as a
        # frame whose format changes mid-stream).
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"The file is not audio that can be decoded ({reason}).") from exc
    if total > limit:
        raise _too_long(max_seconds)
    if total == 0:
        raise InvalidInput("The audio in the file is empty.")
    return np.concatenate(chunks)


def encode_voice_note(pcm: bytes, sample_rate: int) -> bytes:
    """OGG/Opus, mono, 48 kHz, 32 kbit/s (what WhatsApp plays as a voice note) from
    16-bit little-endian mono PCM at `sample_rate`.

    Raises InvalidInput for empty or odd-length PCM or a sample rate that is not
    positive."""
    if not pcm:
        raise InvalidInput("There is no audio to send as a voice note.")
    if len(pcm) % 2:
        raise InvalidInput("16-bit PCM must have an even number of bytes.")
    if sample_rate <= 0:
        raise InvalidInput(f"Sample rate must be positive, not {sample_rate}.")
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16, copy=False)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = sample_rate
    frame.pts = 0

    output = io.BytesIO()
    with av.open(output, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = OPUS_BIT_RATE
        # "voip" tunes the encoder for speech intelligibility.
        stream.codec_context.options = {"application": "voip"}
        # The codec context resamples to 48 kHz and cuts Opus's 20 ms frames itself;
        # encoding None flushes that resampler and the encoder, so the end is kept.
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return output.getvalue()


def _mono(frame: av.AudioFrame) -> Samples:
    """The samples of a packed ("flt") mono frame as a flat array."""
    array: Samples = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    return array


def _too_long(max_seconds: float) -> InvalidInput:
    if max_seconds >= 60 and max_seconds % 60 == 0:
        minutes = int(max_seconds // 60)
        limit = f"{minutes} minute{'s' if minutes != 1 else ''}"
    else:
        limit = f"{max_seconds:g} seconds"
    return InvalidInput(f"The voice note is longer than {limit}; please send a shorter one.")
