"""The home fast path: how fast a home command is matched, and heard answered.

    tests/isolated_network.sh .venv/bin/python bench/home_fast_path.py [--utterances 10]

A house of 200 entities in 15 areas, served by a local Home Assistant on the wire.
1. Matching: hassil with Home Assistant's English sentences against slot lists built
   from that house, p50 and p95 per command, over commands that match and commands that
   go on to the LLM.
2. End of speech -> first audio for "Please turn off the kitchen lights." in the
   in-process voice session with the seed's service budget (STT 50 ms, LLM first
   sentence 300 ms, TTS first chunk 150 ms): through the fast path, and through the
   LLM (the same API with the fast path off) in the same run. The LLM stub answers in
   one round; a real model would call a tool and then answer, a second round.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.home_assistant import TOKEN, FakeHomeAssistant, House  # noqa: E402

from bench.common import percentile, start_butler_api, start_service_stubs, wait_http  # noqa: E402
from bench.voice_latency import (  # noqa: E402
    BENCH_ROOM,
    JWT_SECRET,
    LLM_MS,
    STT_MS,
    TTS_MS,
    make_user,
    open_voice_session,
    service_engines,
)
from butler.config import VoiceSettings  # noqa: E402
from butler.db import migrate  # noqa: E402
from butler.db.embedded import EmbeddedPostgres  # noqa: E402
from butler.home.fast_path import FastPath  # noqa: E402
from butler.voice.butler_llm import ButlerAPI  # noqa: E402
from butler.voice.harness import talk  # noqa: E402
from butler.voice.providers import build_vad  # noqa: E402
from butler.voice.simulated_io import Utterance, read_wav  # noqa: E402

AREAS = [
    "Kitchen",
    "Living Room",
    "Bedroom",
    "Bathroom",
    "Hall",
    "Garage",
    "Office",
    "Dining Room",
    "Guest Room",
    "Nursery",
    "Laundry",
    "Porch",
    "Garden",
    "Attic",
    "Basement",
]
COMMANDS = [
    "Turn off the kitchen lights.",
    "turn on the office lights",
    "Switch off the lights in the guest room please",
    "set the dining room light 2 to 40%",
    "Set the temperature in the bedroom to 20 degrees",
    "is the garage light 1 on?",
    "turn off the nursery fan",
    "What's the weather like tomorrow?",  # to the LLM
    "Remind me to call mum at six",  # to the LLM
    "turn on the lights",  # no room: to the LLM
]
# What the speech stub's STT answers, whatever it hears (tests/fakes/speech_services.py).
SPOKEN = "Please turn off the kitchen lights."


def big_house() -> House:
    """15 areas, 200 entities: lights, switches, fans, sensors, thermostats, covers, TVs."""
    house = House()
    for index, name in enumerate(AREAS):
        area_id = name.lower().replace(" ", "_")
        house.area(area_id, name)
        for n in range(1, 7):
            house.entity(f"light.{area_id}_{n}", f"{name} Light {n}", "on", area=area_id)
        house.entity(f"switch.{area_id}_socket", f"{name} Socket", "off", area=area_id)
        house.entity(f"fan.{area_id}", f"{name} Fan", "off", area=area_id)
        house.entity(
            f"sensor.{area_id}_temperature",
            f"{name} Temperature",
            "20.5",
            area=area_id,
            unit_of_measurement="°C",
            device_class="temperature",
        )
        house.entity(
            f"sensor.{area_id}_humidity",
            f"{name} Humidity",
            "45",
            area=area_id,
            unit_of_measurement="%",
            device_class="humidity",
        )
        house.entity(
            f"climate.{area_id}",
            f"{name} Thermostat",
            "heat",
            area=area_id,
            temperature=19,
            min_temp=7,
            max_temp=30,
        )
        house.entity(f"cover.{area_id}_blind", f"{name} Blind", "open", area=area_id)
        house.entity(f"binary_sensor.{area_id}_window", f"{name} Window", "off", area=area_id)
        if index < 5:
            house.entity(f"media_player.{area_id}_tv", f"{name} TV", "off", area=area_id)
    return house


def bench_matching(house: House, rounds: int) -> None:
    registry = house.registry()
    entities = registry.entities()
    areas, floors = list(registry.areas.values()), list(registry.floors.values())
    fast = FastPath()
    started = time.perf_counter()
    fast.warm()
    fast.plan("turn on the kitchen lights", entities, areas, floors, registry.generation)
    first = time.perf_counter() - started
    times: dict[str, list[float]] = {c: [] for c in COMMANDS}
    plans = {}
    for _ in range(rounds):
        for command in COMMANDS:
            started = time.perf_counter()
            plans[command] = fast.plan(command, entities, areas, floors, registry.generation)
            times[command].append(time.perf_counter() - started)
    everything = [t for values in times.values() for t in values]
    print(f"\n1. matching, {len(entities)} entities in {len(areas)} areas, {rounds} rounds")
    print(f"   first command (sentences loaded, slot lists built): {first * 1000:.0f} ms")
    for command in COMMANDS:
        plan = plans[command]
        outcome = (
            f"{plan.intent} -> {len(plan.entity_ids)} entities" if plan else "no match: to the LLM"
        )
        print(
            f"   {percentile(times[command], 50) * 1000:6.2f} ms p50 "
            f"{percentile(times[command], 95) * 1000:6.2f} ms p95  {command!r}: {outcome}"
        )
    print(
        f"   all: p50 {percentile(everything, 50) * 1000:.2f} ms, "
        f"p95 {percentile(everything, 95) * 1000:.2f} ms (goal: p95 <= 5 ms)"
    )


async def spoken(
    samples: object,
    rate: int,
    api_url: str,
    credential: str,
    speech_url: str,
    count: int,
    settings: VoiceSettings,
) -> list[float]:
    latencies = []
    engines = service_engines(speech_url)
    vad_model = build_vad(settings)
    for _ in range(count):
        api = ButlerAPI(base_url=api_url, credential=credential, session_id=BENCH_ROOM)
        result = await talk(
            [Utterance(samples, at=0.3)],  # type: ignore[arg-type]
            rate,
            api=api,
            settings=settings,
            stt_engine=engines["stt"],
            tts_engine=engines["tts"],
            vad_model=vad_model,
            tail_seconds=3.0,
        )
        if result.end_to_first_audio:
            latencies.append(result.end_to_first_audio[0])
        else:
            print(f"   no audio: heard {result.transcripts}", file=sys.stderr)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=50, help="matching rounds")
    parser.add_argument("--skip-voice", action="store_true")
    parser.add_argument(
        "--vad-silence", type=float, help="vad_min_silence_seconds (default: Butler's)"
    )
    args = parser.parse_args()
    house = big_house()
    bench_matching(house, args.rounds)
    voice = VoiceSettings()
    if args.vad_silence is not None:
        voice = VoiceSettings(vad_min_silence_seconds=args.vad_silence)
    if args.skip_voice:
        return
    espeak = shutil.which("espeak-ng")
    if not espeak:
        raise SystemExit("espeak-ng is needed: apt-get install espeak-ng")
    with (
        tempfile.TemporaryDirectory(prefix="butler-home-bench-") as tmp,
        FakeHomeAssistant(house).running() as home,
        EmbeddedPostgres(Path(tmp) / "pg") as pg,
    ):
        migrate.upgrade(pg.dsn)
        wav = Path(tmp) / "command.wav"
        subprocess.run([espeak, "-s", "160", "-w", str(wav), SPOKEN], check=True)
        samples, rate = read_wav(wav)
        stubs, llm_url, speech_url = start_service_stubs(ROOT, LLM_MS, STT_MS, TTS_MS)
        processes = list(stubs)
        try:
            urls = {}
            for label, fast in (("fast path", "true"), ("LLM", "false")):
                env = {
                    "BUTLER_HOME_ASSISTANT__URL": home.url,
                    "BUTLER_HOME_ASSISTANT__TOKEN": TOKEN,
                    "BUTLER_HOME_ASSISTANT__FAST_PATH": fast,
                }
                process, url = start_butler_api(
                    Path(tmp) / label.replace(" ", "-"), pg.dsn, llm_url, JWT_SECRET, env
                )
                processes.append(process)
                urls[label] = url
            wait_http(speech_url.removesuffix("/v1") + "/")
            user_id = asyncio.run(make_user(pg.dsn, urls["fast path"]))
            credential = asyncio.run(open_voice_session(pg.dsn, uuid.UUID(user_id)))
            time.sleep(2)  # both APIs connect to Home Assistant
            figures = {}
            for label, url in urls.items():
                print(f"live, {label} ({args.utterances} utterances)", flush=True)
                figures[label] = asyncio.run(
                    spoken(samples, rate, url, credential, speech_url, args.utterances, voice)
                )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
    print(f"\n2. end of speech -> first audio, {SPOKEN!r}, seed budget")
    for label, values in figures.items():
        if values:
            print(
                f"   {label:<10} n={len(values):<3} p50 {percentile(values, 50) * 1000:.0f} ms"
                f"  p95 {percentile(values, 95) * 1000:.0f} ms"
            )
    if figures["fast path"] and figures["LLM"]:
        ratio = percentile(figures["LLM"], 50) / percentile(figures["fast path"], 50)
        print(f"   the LLM path takes {ratio:.2f}x the fast path at p50 (goal: fast p50 <= 300 ms)")
    calls = home.calls_to("light.kitchen_1")
    print(f"   Home Assistant received {len(calls)} calls for light.kitchen_1")


if __name__ == "__main__":
    main()
