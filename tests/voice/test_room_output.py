"""Pausing the room's audio output (speech over the reply) drops the audio already
queued for the room, and counts it as never played."""

from __future__ import annotations

import asyncio

import numpy as np
from livekit import rtc
from livekit.agents.voice.room_io._output import _ParticipantAudioOutput

from butler.voice.room_output import silence_at_once_on_pause

RATE = 24_000
FRAME = rtc.AudioFrame(np.full(RATE // 20, 5000, np.int16).tobytes(), RATE, 1, RATE // 20)


def _room_output() -> _ParticipantAudioOutput:
    """The worker's room output; its audio source drains in real time, room or not."""
    return _ParticipantAudioOutput(
        rtc.Room(),
        sample_rate=RATE,
        num_channels=1,
        track_publish_options=rtc.TrackPublishOptions(),
    )


async def _queue(output: _ParticipantAudioOutput, frames: int) -> None:
    for _ in range(frames):  # as the library's forwarder does
        output._source_pushed_duration += FRAME.duration
        await output._audio_source.capture_frame(FRAME)


def test_a_pause_drops_the_queued_reply_and_counts_it_unplayed() -> None:
    async def scenario() -> tuple[float, float, float, float]:
        output = _room_output()
        assert silence_at_once_on_pause(output)
        await _queue(output, 3)  # 150 ms queued, playing out in real time
        await asyncio.sleep(0.05)
        queued = output._audio_source.queued_duration
        output.pause()
        after = output._audio_source.queued_duration
        return queued, after, output._source_discarded_duration, output._run_offset

    queued, after, discarded, resumes_at = asyncio.run(scenario())
    assert queued > 0.05, "audio was still queued when the person spoke"
    assert after == 0, "nothing more goes out after the pause"
    assert abs(discarded - queued) < 0.02
    assert resumes_at == 3 * FRAME.duration  # a resumed reply starts past what was dropped


def test_the_library_alone_lets_the_queued_reply_play_on() -> None:
    """What the change is for: without it, the pause leaves the queue as it was."""

    async def scenario() -> float:
        output = _room_output()
        await _queue(output, 3)
        output.pause()
        return output._audio_source.queued_duration

    assert asyncio.run(scenario()) > 0.1
