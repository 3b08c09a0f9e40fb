"""End of speech → first output audio frame, through the real voice session.

    .venv/bin/python bench/voice_latency.py [--utterances 10]

(a) STT, LLM and TTS as local HTTP services holding the seed's budget (STT 50 ms, LLM
    first sentence 300 ms behind the real Butler API, TTS first chunk 150 ms), with
    Butler's session settings and with livekit-agents' defaults, in the same run;
(b) the local real models: faster-whisper tiny.en and Piper, LLM as in (a).
End of speech is read from each espeak-ng utterance's audio.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livekit.plugins import openai as lk_openai  # noqa: E402
from livekit.plugins import silero  # noqa: E402

from bench.common import (  # noqa: E402
    percentile,
    start_butler_api,
    start_service_stubs,
    wait_http,
)
from butler.auth import invites, voice_sessions  # noqa: E402
from butler.auth.tokens import TokenService  # noqa: E402
from butler.config import VoiceSettings  # noqa: E402
from butler.db import migrate  # noqa: E402
from butler.db.embedded import EmbeddedPostgres  # noqa: E402
from butler.db.pool import connect  # noqa: E402
from butler.users.models import Role  # noqa: E402
from butler.voice.butler_llm import ButlerAPI  # noqa: E402
from butler.voice.harness import TalkResult, talk  # noqa: E402
from butler.voice.local_stt import LocalSTT  # noqa: E402
from butler.voice.local_tts import LocalTTS  # noqa: E402
from butler.voice.providers import PAUSE_FOR_STT_SERVICE, build_vad  # noqa: E402
from butler.voice.simulated_io import Utterance, read_wav  # noqa: E402

SENTENCES = [
    "Please turn off the kitchen lights.",
    "What is the weather like tomorrow morning?",
    "Remind me to call mum at six.",
    "Set a timer for ten minutes.",
    "Is the front door locked?",
    "Play some quiet music in the living room.",
    "How long will it take to drive to work?",
    "Add milk and eggs to the shopping list.",
    "What time is my first meeting today?",
    "Turn the heating down a little, please.",
    "When does the bakery close on Sundays?",
    "Dim the bedroom lights to half.",
]
STT_MS, LLM_MS, TTS_MS = 50, 300, 150
JWT_SECRET = "bench-" + "j" * 60


async def register(dsn: str, api_url: str, name: str, role: Role = Role.MEMBER) -> dict[str, Any]:
    """Register someone through the API with a fresh invite; the API's answer."""
    conn = await connect(dsn)
    try:
        code = (await invites.create(conn, role=role, ttl=timedelta(hours=1))).code
    finally:
        await conn.close()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{api_url}/api/auth/register",
            json={
                "code": code,
                "username": name,
                "display_name": name.title(),
                "password": "benchmark passphrase",
            },
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def make_user(dsn: str, api_url: str) -> str:
    """The bench's own user (an admin); its id."""
    user_id: str = (await register(dsn, api_url, "bench", Role.ADMIN))["user"]["id"]
    return user_id


BENCH_ROOM = "bench-room"


async def open_voice_session(dsn: str, user_id: uuid.UUID) -> str:
    """The worker's credential for the bench's room, opened as the API opens one."""
    tokens = TokenService(JWT_SECRET, access_ttl_seconds=900, voice_ttl_seconds=3600)
    conn = await connect(dsn)
    try:
        return await voice_sessions.start(conn, tokens, user_id, BENCH_ROOM)
    finally:
        await conn.close()


def service_engines(speech_url: str) -> dict[str, Any]:
    """The STT and TTS clients for the local services; one set per case, since each
    case runs in an event loop of its own and a client keeps its connections."""
    return {
        "stt": lk_openai.STT(
            model="whisper-1", base_url=speech_url, api_key="x", use_realtime=False
        ),
        "tts": lk_openai.TTS(
            model="kokoro",
            voice="bf_emma",
            base_url=speech_url,
            api_key="x",
            response_format="pcm",
        ),
    }


@dataclass
class CaseFigures:
    vad_shares: list[float] = field(default_factory=list)
    transcriptions: list[int] = field(default_factory=list)  # per utterance


def vad_share(result: TalkResult, latency: float) -> float | None:
    """Seconds from the end of speech to the start of the transcription the reply came
    from (the last one started before the first audio): the VAD's part of the latency."""
    end = result.speech_ends[0]
    starts = [s.at for s in result.transcription_starts if s.at <= end + latency]
    return max(starts) - end if starts else None


async def run_case(
    label: str,
    speech: list,
    api_url: str,
    credential: str,
    engines: dict,
    defaults: bool,
    settings: VoiceSettings,
    case: CaseFigures,
) -> list[float]:
    """End of speech -> first audio, per utterance; `case` gets the VAD's part of each
    and the number of transcriptions made."""
    latencies = []
    for index, (samples, rate) in enumerate(speech):
        api = ButlerAPI(base_url=api_url, credential=credential, session_id=BENCH_ROOM)
        result = await talk(
            [Utterance(samples, at=0.3)],
            rate,
            api=api,
            settings=settings,
            stt_engine=engines["stt"],
            tts_engine=engines["tts"],
            vad_model=engines["vad"],
            tail_seconds=4.5,
            framework_defaults=defaults,
        )
        if result.end_to_first_audio:
            latency = result.end_to_first_audio[0]
            latencies.append(latency)
            share = vad_share(result, latency)
            if share is not None:
                case.vad_shares.append(share)
            case.transcriptions.append(len(result.transcription_starts))
        else:
            print(
                f"  {label}: utterance {index} got no audio "
                f"(heard {result.transcripts}, replied {result.replies})",
                file=sys.stderr,
            )
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--verbose", action="store_true", help="log each turn's stage timings")
    parser.add_argument(
        "--silence",
        type=float,
        default=VoiceSettings().vad_min_silence_seconds,
        help="Silero's silence window for Butler's cases (default: Butler's setting)",
    )
    parser.add_argument(
        "--pause",
        type=float,
        help="the pause after which speech is transcribed early (0: off; default: Butler's)",
    )
    parser.add_argument(
        "--min-delay",
        type=float,
        default=VoiceSettings().endpointing_min_delay_seconds,
        help="the endpointing wait after finished-looking words (default: Butler's)",
    )
    parser.add_argument(
        "--end-of-turn",
        default=VoiceSettings().end_of_turn,
        help="the end-of-turn judge (VoiceSettings.end_of_turn; default: Butler's)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="only (a) with Butler's settings, for tuning"
    )
    args = parser.parse_args()
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.WARNING)
        logging.getLogger("butler.voice.reporting").setLevel(logging.INFO)
    espeak = shutil.which("espeak-ng")
    if not espeak:
        raise SystemExit("espeak-ng is needed: apt-get install espeak-ng")

    with (
        tempfile.TemporaryDirectory(prefix="butler-voice-bench-") as tmp,
        EmbeddedPostgres(Path(tmp)) as pg,
    ):
        migrate.upgrade(pg.dsn)
        speech = []
        for n, sentence in enumerate((SENTENCES * 3)[: args.utterances]):
            path = Path(tmp) / f"u{n}.wav"
            subprocess.run([espeak, "-s", "160", "-w", str(path), sentence], check=True)
            speech.append(read_wav(path))

        stubs, llm_url, speech_url = start_service_stubs(ROOT, LLM_MS, STT_MS, TTS_MS)
        processes = list(stubs)
        try:
            api, api_url = start_butler_api(Path(tmp) / "settings", pg.dsn, llm_url, JWT_SECRET)
            processes.append(api)
            wait_http(speech_url.removesuffix("/v1") + "/")
            user_id = asyncio.run(make_user(pg.dsn, api_url))
            credential = asyncio.run(open_voice_session(pg.dsn, uuid.UUID(user_id)))

            ours = VoiceSettings(
                vad_min_silence_seconds=args.silence,
                preflight_pause_seconds=args.pause,
                endpointing_min_delay_seconds=args.min_delay,
                end_of_turn=args.end_of_turn,
            )
            butler = {**service_engines(speech_url), "vad": build_vad(ours)}
            cases = {"(a) services, Butler settings": ("butler", butler, False)}
            if not args.quick:
                cases["(a) services, livekit-agents defaults"] = (
                    "defaults",
                    {**service_engines(speech_url), "vad": silero.VAD.load()},
                    True,
                )
                cases["(b) local models, Butler settings"] = (
                    "local",
                    {"stt": LocalSTT(), "tts": LocalTTS(), "vad": build_vad(ours)},
                    False,
                )
            figures = {label: CaseFigures() for label in cases}
            results = {
                label: asyncio.run(
                    run_case(
                        name, speech, api_url, credential, engines, defaults, ours, figures[label]
                    )
                )
                for label, (name, engines, defaults) in cases.items()
            }
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)

    budget = (STT_MS + LLM_MS + TTS_MS) / 1000
    # The silence a reply waits for: the pause that starts the early transcription, or
    # without it the VAD's window.
    silence = args.pause if args.pause is not None else PAUSE_FOR_STT_SERVICE
    silence = silence or args.silence
    print(f"\nend of speech -> first audio frame, {args.utterances} espeak-ng utterances")
    print(
        f"(a) service delays: STT {STT_MS} ms, LLM first sentence {LLM_MS} ms, "
        f"TTS first chunk {TTS_MS} ms\n"
    )
    print(f"{'case':<40} {'n':>3} {'p50':>9} {'p95':>9} {'mean':>9}")
    for label, values in results.items():
        if not values:
            print(f"{label:<40}   0  (no audio)")
            continue
        print(
            f"{label:<40} {len(values):>3} {percentile(values, 50) * 1000:>7.0f}ms "
            f"{percentile(values, 95) * 1000:>7.0f}ms {statistics.fmean(values) * 1000:>7.0f}ms"
        )
    ours = results["(a) services, Butler settings"]
    theirs = results.get("(a) services, livekit-agents defaults")
    if ours:
        overhead = (percentile(ours, 50) - budget - silence) * 1000
        print(
            f"\nButler overhead p50 (measured - services - {silence * 1000:.0f} ms of silence): "
            f"{overhead:.0f} ms (goal <= 50 ms); p50 goal <= 650 ms"
        )
    vad = figures["(a) services, Butler settings"].vad_shares
    if ours and len(vad) == len(ours):
        # Per utterance: measured - services - the VAD's measured part (end of speech to
        # the start of the transcription the reply came from).
        own = [latency - budget - share for latency, share in zip(ours, vad, strict=True)]
        print(
            f"the VAD's part (end of speech -> transcription start) p50 "
            f"{percentile(vad, 50) * 1000:.0f} ms; Butler overhead with it measured, p50 "
            f"{percentile(own, 50) * 1000:.0f} ms, p95 {percentile(own, 95) * 1000:.0f} ms"
        )
    for label, case in figures.items():
        if case.transcriptions and sum(case.transcriptions):
            print(
                f"{label}: {statistics.fmean(case.transcriptions):.1f} transcriptions "
                "per utterance (guesses at pauses and finals)"
            )
    if ours and theirs:
        ratio = percentile(theirs, 50) / percentile(ours, 50)
        print(f"livekit defaults / Butler settings, p50: {ratio:.2f}x")


if __name__ == "__main__":
    main()
