"""A person in a real LiveKit room, as the app is: the official rtc SDK joins with the
API's token, publishes speech as a microphone track in real time (silence in between,
as a microphone sends), and records what the butler sends back: its audio frames with
their arrival times, `lk.transcription` text streams and `lk.agent.state`.

Shared by the live voice tests and `bench/voice_webrtc.py`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from livekit import rtc

RATE = 48_000
FRAME = RATE // 100  # 10 ms
# Received audio louder than this (int16 RMS) is the butler speaking.
SPEAKING_RMS = 300.0


@dataclass
class Heard:
    at: float  # time.monotonic() when the frame arrived
    rms: float
    samples: np.ndarray[Any, np.dtype[np.int16]]


@dataclass
class Transcript:
    identity: str
    text: str
    final: bool


@dataclass
class RoomRecord:
    frames: list[Heard] = field(default_factory=list)
    transcripts: list[Transcript] = field(default_factory=list)
    states: list[tuple[float, str]] = field(default_factory=list)

    def first_audio_after(self, moment: float) -> float | None:
        return next((f.at for f in self.frames if f.at >= moment and f.rms > SPEAKING_RMS), None)

    def last_audio_before(self, moment: float) -> float | None:
        loud = [f.at for f in self.frames if f.at <= moment and f.rms > SPEAKING_RMS]
        return loud[-1] if loud else None

    def stopped_after(self, moment: float, gap: float = 0.3) -> float | None:
        """When the butler fell silent after `moment`: the last loud frame before the
        first stretch of `gap` seconds without one."""
        loud = [f.at for f in self.frames if f.at >= moment and f.rms > SPEAKING_RMS]
        previous = moment
        for at in loud:
            if at - previous >= gap:
                return previous
            previous = at
        return previous if loud else None

    def audio(self, start: float = 0.0, end: float = float("inf")) -> np.ndarray[Any, Any]:
        chunks = [f.samples for f in self.frames if start <= f.at <= end]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)

    def butler_said(self, identity: str) -> list[str]:
        return [t.text for t in self.transcripts if t.identity != identity and t.final]

    def person_said(self, identity: str) -> list[str]:
        return [t.text for t in self.transcripts if t.identity == identity and t.final]


def to_48k(samples: np.ndarray[Any, Any], rate: int) -> np.ndarray[Any, np.dtype[np.int16]]:
    if rate == RATE:
        return samples.astype(np.int16)
    positions = np.arange(0, len(samples), rate / RATE)
    resampled = np.interp(positions, np.arange(len(samples)), samples.astype(np.float64))
    return resampled.astype(np.int16)


class VoiceClient:
    """One person in one room; `async with VoiceClient.join(...)`."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.room = rtc.Room()
        self.record = RoomRecord()
        self.source = rtc.AudioSource(RATE, 1, queue_size_ms=20)  # capture paces in real time
        self._queue: asyncio.Queue[np.ndarray[Any, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.speech_ended: list[float] = []
        self.speech_started: list[float] = []

    @property
    def identity(self) -> str:
        identity: str = self.room.local_participant.identity
        return identity

    async def __aenter__(self) -> VoiceClient:
        self.room.on("track_subscribed", self._subscribed)
        self.room.on("participant_attributes_changed", self._attributes)
        self.room.register_text_stream_handler("lk.transcription", self._text)
        await self.room.connect(self.url, self.token, rtc.RoomOptions(auto_subscribe=True))
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        self._tasks.append(asyncio.create_task(self._microphone()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()

    # -- speaking -------------------------------------------------------------------

    async def say(self, samples: np.ndarray[Any, Any], rate: int) -> float:
        """Speak (in real time); returns when the last speech frame went out."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(to_48k(samples, rate))
        self._queue.put_nowait(np.array([], np.int16))  # marks the end
        self._done = done
        return await done

    async def _microphone(self) -> None:
        silence = np.zeros(FRAME, np.int16)
        speaking = False
        while True:
            try:
                chunk = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                await self._capture(silence)
                continue
            if len(chunk) == 0:
                now = time.monotonic()
                self.speech_ended.append(now)
                self._done.set_result(now)
                speaking = False
                continue
            if not speaking:
                self.speech_started.append(time.monotonic())
                speaking = True
            for start in range(0, len(chunk), FRAME):
                part = chunk[start : start + FRAME]
                if len(part) < FRAME:
                    part = np.pad(part, (0, FRAME - len(part)))
                await self._capture(part)

    async def _capture(self, samples: np.ndarray[Any, Any]) -> None:
        frame = rtc.AudioFrame(samples.tobytes(), RATE, 1, len(samples))
        await self.source.capture_frame(frame)

    # -- listening ------------------------------------------------------------------

    def _subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            self._tasks.append(asyncio.create_task(self._listen(track)))

    async def _listen(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
        try:
            async for event in stream:
                samples = np.frombuffer(event.frame.data, np.int16).copy()
                rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
                self.record.frames.append(Heard(time.monotonic(), rms, samples))
        finally:
            await stream.aclose()

    def _text(self, reader: rtc.TextStreamReader, identity: str) -> None:
        async def read() -> None:
            text = await reader.read_all()
            final = reader.info.attributes.get("lk.transcription_final") == "true"
            self.record.transcripts.append(Transcript(identity, text, final))

        self._tasks.append(asyncio.create_task(read()))

    def _attributes(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        if "lk.agent.state" in changed:
            self.record.states.append((time.monotonic(), changed["lk.agent.state"]))

    def agent_state(self) -> str | None:
        """The butler's `lk.agent.state` now (it may have been set before we joined)."""
        for participant in self.room.remote_participants.values():
            if "lk.agent.state" in participant.attributes:
                return participant.attributes["lk.agent.state"]
        return None

    async def wait_for_state(self, state: str, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.agent_state() == state or any(s == state for _, s in self.record.states):
                return True
            await asyncio.sleep(0.05)
        return False

    async def wait_for_audio(self, after: float, within: float) -> float | None:
        """When the butler's first audio after `after` arrived (None: not in time)."""
        deadline = time.monotonic() + within
        while (first := self.record.first_audio_after(after)) is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)
        return first

    async def wait_for_silence(self, after: float, quiet_seconds: float, within: float) -> None:
        """Until the butler has been quiet for `quiet_seconds` since it last spoke."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            last = self.record.last_audio_before(time.monotonic())
            if last is not None and last > after and time.monotonic() - last > quiet_seconds:
                return
            await asyncio.sleep(0.1)


def voice_token(api_url: str, access_token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{api_url}/api/auth/token",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
