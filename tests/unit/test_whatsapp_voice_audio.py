"""Voice notes in and out of WhatsApp: espeak-ng speech through the real Opus encoder and
FFmpeg's decoders (PyAV), and files made the way phones and other apps make them."""

from __future__ import annotations

import io
import re
import wave
from typing import Any

import av
import numpy as np
import pytest

from butler.channels.whatsapp import voice_audio
from butler.channels.whatsapp.voice_audio import (
    WHISPER_RATE,
    decode_voice_note,
    encode_voice_note,
)
from butler.errors import InvalidInput
from tests.fakes.voice_notes import spoken_pcm, spoken_voice_note

SENTENCE = "Please turn on the kitchen lights"


@pytest.fixture(scope="module")
def speech() -> tuple[bytes, int]:
    """espeak-ng's PCM (22 050 Hz) for the sentence."""
    return spoken_pcm(SENTENCE)


def seconds(pcm: bytes, rate: int) -> float:
    return len(pcm) / 2 / rate


def rms(samples: np.ndarray[Any, Any]) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def resampled(pcm: bytes, rate: int, to: int) -> bytes:
    """The same speech at another sample rate (linear interpolation is enough here)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    positions = np.linspace(0, len(samples) - 1, round(len(samples) * to / rate))
    return np.interp(positions, np.arange(len(samples)), samples).astype("<i2").tobytes()


def audio_file(pcm: bytes, rate: int, container_format: str, codec: str, codec_rate: int) -> bytes:
    """`pcm` encoded the way another app would: `codec` in a `container_format` file."""
    output = io.BytesIO()
    with av.open(output, mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=codec_rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return output.getvalue()


def test_speech_survives_the_round_trip(speech: tuple[bytes, int]) -> None:
    pcm, rate = speech
    audio = decode_voice_note(encode_voice_note(pcm, rate))

    assert audio.dtype == np.float32
    assert audio.ndim == 1
    # The whole length, to the sample or so: OGG's last granule position trims Opus's
    # padding, and a missing encoder flush would lose the last 10-20 ms.
    assert abs(len(audio) / WHISPER_RATE - seconds(pcm, rate)) < 0.005
    assert float(np.max(np.abs(audio))) <= 1.0
    original = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    # Opus at 32 kbit/s keeps the speech's loudness (espeak-ng's is about 0.08 RMS).
    assert rms(audio) == pytest.approx(rms(original), rel=0.25)
    assert rms(audio) > 0.02


def test_the_voice_note_is_ogg_opus_mono_as_whatsapp_requires() -> None:
    note = spoken_voice_note(SENTENCE)

    assert note.startswith(b"OggS")
    with av.open(io.BytesIO(note), mode="r") as container:
        assert container.format.name == "ogg"
        (stream,) = container.streams
        assert isinstance(stream, av.AudioStream)
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.channels == 1
        assert stream.sample_rate == 48_000
        assert container.duration is not None
        duration = container.duration / 1_000_000
    # About 32 kbit/s (Opus's headers and OGG's pages add a little).
    assert len(note) * 8 / duration < 40_000


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100, 48_000])
def test_any_sample_rate_is_encoded_at_48_khz_with_its_length_kept(
    speech: tuple[bytes, int], rate: int
) -> None:
    pcm = resampled(*speech, to=rate)
    note = encode_voice_note(pcm, rate)

    with av.open(io.BytesIO(note), mode="r") as container:
        assert container.streams.audio[0].sample_rate == 48_000
    assert abs(len(decode_voice_note(note)) / WHISPER_RATE - seconds(pcm, rate)) < 0.005


@pytest.mark.parametrize(
    ("container_format", "codec", "codec_rate"),
    [
        pytest.param("mp3", "libmp3lame", 44_100, id="mp3"),
        pytest.param("ipod", "aac", 22_050, id="m4a-aac"),
        pytest.param("mp4", "aac", 22_050, id="mp4-aac"),
    ],
)
def test_forwarded_audio_files_decode_too(
    speech: tuple[bytes, int], container_format: str, codec: str, codec_rate: int
) -> None:
    pcm, rate = speech
    audio = decode_voice_note(audio_file(pcm, rate, container_format, codec, codec_rate))

    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert abs(len(audio) / WHISPER_RATE - seconds(pcm, rate)) < 0.06
    assert rms(audio) > 0.02


def test_a_wav_file_decodes_too(speech: tuple[bytes, int]) -> None:
    pcm, rate = speech
    output = io.BytesIO()
    with wave.open(output, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm)

    audio = decode_voice_note(output.getvalue())

    assert abs(len(audio) / WHISPER_RATE - seconds(pcm, rate)) < 0.01


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, this is not a voice note\n" * 50, id="text"),
        pytest.param(np.random.default_rng(7).bytes(20_000), id="random"),
        pytest.param(b"OggS" + bytes(4_000), id="broken-ogg"),
    ],
)
def test_data_that_is_not_audio_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        decode_voice_note(data)


def test_a_file_without_audio_is_refused() -> None:
    output = io.BytesIO()
    with av.open(output, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(
                np.full((16, 16, 3), index * 80, dtype=np.uint8), format="rgb24"
            )
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    with pytest.raises(InvalidInput, match="no audio"):
        decode_voice_note(output.getvalue())


def test_a_voice_note_longer_than_the_limit_is_refused(speech: tuple[bytes, int]) -> None:
    note = encode_voice_note(*speech)  # 2.3 s

    with pytest.raises(InvalidInput, match="longer than 1 seconds"):
        decode_voice_note(note, max_seconds=1)
    assert len(decode_voice_note(note, max_seconds=3)) > 2 * WHISPER_RATE


def test_decoding_stops_once_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long file costs no more than the limit: what was decoded when the error came is
    the limit and one frame, not the whole file."""
    rate = 8_000
    output = io.BytesIO()
    with wave.open(output, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(bytes(2 * rate * 120))  # two minutes of silence
    decoded: list[int] = []
    real_mono = voice_audio._mono

    def counting(frame: av.AudioFrame) -> np.ndarray[Any, np.dtype[np.float32]]:
        samples = real_mono(frame)
        decoded.append(len(samples))
        return samples

    monkeypatch.setattr(voice_audio, "_mono", counting)

    with pytest.raises(InvalidInput, match="longer than 1 minute"):
        decode_voice_note(output.getvalue(), max_seconds=60)
    assert 60 * WHISPER_RATE < sum(decoded) < 61 * WHISPER_RATE


@pytest.mark.parametrize(
    ("pcm", "rate", "why"),
    [
        pytest.param(b"", 16_000, "no audio", id="empty"),
        pytest.param(b"\x00\x01\x02", 16_000, "even number", id="odd-length"),
        pytest.param(bytes(3_200), 0, "positive", id="no-rate"),
    ],
)
def test_encoding_refuses_what_is_not_pcm(pcm: bytes, rate: int, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        encode_voice_note(pcm, rate)


def test_whisper_hears_the_sentence_in_the_voice_note() -> None:
    from butler.voice.local_stt import LEADING_SILENCE_SECONDS, LocalWhisper

    audio = decode_voice_note(spoken_voice_note(SENTENCE))
    # As the voice worker does: whisper drops a first word that starts at sample 0.
    padded = np.concatenate(
        [np.zeros(int(LEADING_SILENCE_SECONDS * WHISPER_RATE), dtype=np.float32), audio]
    )

    heard = LocalWhisper.shared().transcribe(padded, "en")

    words = set(re.sub(r"[^a-z ]", " ", heard.lower()).split())
    assert {"turn", "kitchen", "lights"} <= words, heard
