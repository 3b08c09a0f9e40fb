"""Speech over the reply silences the butler at once in a room.

livekit-agents (1.8.9, pinned) pauses its room audio output without emptying the
audio source's queue: up to 200 ms of reply already queued still goes out, and is only
dropped when the next frame is forwarded, or never, once the whole reply has been
queued. Over a room that could add up to 0.2 s to barge-in. Here the pause also drops the
queue, with the same bookkeeping the library does when it drops it later (the dropped
audio counts as never played, so the stored reply and a resumed reply start where the
person stopped hearing it); the library's own later drop then finds nothing to do.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.voice.io import AudioOutput
from livekit.agents.voice.room_io._output import _ParticipantAudioOutput

log = logging.getLogger(__name__)

# What the pause relies on; checked, so an upgrade that renames them says so.
_NEEDED = ("_audio_source", "_source_pushed_duration", "_source_discarded_duration", "_report_run")


def room_audio_output(session: AgentSession[Any]) -> _ParticipantAudioOutput | None:
    """The room's own audio output at the end of the session's output chain."""
    output: AudioOutput | None = session.output.audio
    while output is not None and not isinstance(output, _ParticipantAudioOutput):
        output = output.next_in_chain
    return output


def silence_at_once_on_pause(output: _ParticipantAudioOutput) -> bool:
    """Make `output.pause()` drop the queued audio too; False if this livekit version
    lacks what that needs (then the library's own behaviour stays)."""
    if not all(hasattr(output, name) for name in _NEEDED):
        log.warning("livekit's room audio output changed: queued audio plays out on pause")
        return False
    pause = output.pause

    def pause_and_drop_queue() -> None:
        pause()
        source = output._audio_source
        queued = source.queued_duration
        if queued <= 0:
            return
        output._source_discarded_duration += queued
        output._report_run(
            offset=output._source_pushed_duration - queued,
            ended_at=time.time(),
            resumes_at=output._source_pushed_duration,
        )
        source.clear_queue()

    output.pause = pause_and_drop_queue  # type: ignore[method-assign]
    return True
