"""One trip of audio through the real LiveKit server on this machine: person A
publishes a tone burst, person B (in the same room) receives it.

    tests/isolated_network.sh .venv/bin/python bench/livekit_one_way.py [--bursts 8]

Both ends use the official rtc SDK as the voice worker and the test client do, so twice
this figure is the floor under `voice_webrtc.py`'s transport cost (speech goes to the
worker, the reply comes back): no setting of Butler's can take a reply below it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livekit import api as livekit_api  # noqa: E402
from tests.livekit_server import running_livekit  # noqa: E402
from tests.stack.room_client import VoiceClient  # noqa: E402
from tests.support import LIVEKIT_KEY, LIVEKIT_SECRET  # noqa: E402

from bench.common import percentile  # noqa: E402

RATE = 24_000
ROOM = "one-way"


def join_token(identity: str) -> str:
    grants = livekit_api.VideoGrants(room_join=True, room=ROOM)
    token = livekit_api.AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET).with_identity(identity)
    return token.with_grants(grants).to_jwt()


async def trips(url: str, http_url: str, bursts: int) -> list[float]:
    async with livekit_api.LiveKitAPI(http_url, LIVEKIT_KEY, LIVEKIT_SECRET) as server:
        await server.room.create_room(livekit_api.CreateRoomRequest(name=ROOM))
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(int(0.4 * RATE)) / RATE)).astype(np.int16)
    took: list[float] = []
    async with (
        VoiceClient(url, join_token("speaker")) as speaker,
        VoiceClient(url, join_token("listener")) as listener,
    ):
        await asyncio.sleep(2.0)  # both subscribed
        for _ in range(bursts):
            said = asyncio.create_task(speaker.say(tone, RATE))
            await asyncio.sleep(0.05)  # its first frame goes out at once
            started = speaker.speech_started[-1]
            await said
            await asyncio.sleep(0.8)
            heard = listener.record.first_audio_after(started)
            if heard is not None:
                took.append(heard - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, default=8)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="butler-one-way-") as folder,
        running_livekit(Path(folder)) as server,
    ):
        settings = server.settings
        took = asyncio.run(trips(settings.server_url, settings.http_url, args.bursts))
    if not took:
        raise SystemExit("no burst was heard")
    one_way = percentile(took, 50) * 1000
    print(f"one trip through the LiveKit server, {len(took)} bursts")
    print(f"p50 {one_way:.0f} ms, p95 {percentile(took, 95) * 1000:.0f} ms, ", end="")
    print(f"mean {statistics.fmean(took) * 1000:.0f} ms")
    print(f"two trips (speech in, reply out): {2 * one_way:.0f} ms, the floor under the")
    print("transport's cost in voice_webrtc.py (goal there: +30 ms)")


if __name__ == "__main__":
    main()
