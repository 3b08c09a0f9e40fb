"""Turn-taking on the labelled set (tests/turn_set.py): is a hesitating speaker cut off,
is any of their speech lost, and how fast is a finished request answered.

    tests/isolated_network.sh .venv/bin/python bench/turn_taking.py \
        [--every N] [--configs defaults,text,...] [--local-configs text,...]

1. Judgements (offline, the whole set): each end-of-turn judge on the audio and the local
   STT's transcript at the hesitation of each unfinished utterance (as the VAD ends the
   speech there, 300 ms into the silence), and at the end of each finished one.
2. Live (the real voice session, in process, real time): for livekit-agents' defaults
   and each judge,
   - with the local models (faster-whisper tiny.en, Piper) on the unfinished utterances:
     false cut-offs (a reply audible, or a turn committed, before the person finished),
     lost speech (a part of the utterance of which no word reached any turn), WER;
   - with the seed's service budget (STT 50 ms, LLM first sentence 300 ms behind the real
     Butler API, TTS first chunk 150 ms) on the finished ones: end of speech -> first
     audio, p50 and p95. The STT there answers with the utterance's own words, so the text
     rule sees what a good STT would hear.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livekit import rtc  # noqa: E402
from livekit.agents import APIConnectOptions, LanguageCode, stt  # noqa: E402
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr  # noqa: E402
from livekit.agents.utils import AudioBuffer, merge_frames  # noqa: E402
from livekit.plugins import silero  # noqa: E402
from tests.turn_set import (  # noqa: E402
    Recording,
    labelled_set,
    lost_transcripts,
    record,
    word_errors,
)

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
from butler.voice.butler_llm import ButlerAPI  # noqa: E402
from butler.voice.harness import TalkResult, talk  # noqa: E402
from butler.voice.local_stt import LocalSTT  # noqa: E402
from butler.voice.local_tts import LocalTTS  # noqa: E402
from butler.voice.preflight_stt import RecentAudio  # noqa: E402
from butler.voice.providers import build_vad  # noqa: E402
from butler.voice.simulated_io import Utterance, speech_end_offset  # noqa: E402
from butler.voice.turn_detector import end_of_turn_probability  # noqa: E402
from butler.voice.turn_models import LiveKitTurnModel, SmartTurnModel  # noqa: E402

JUDGES = ["text", "livekit", "smart-turn", "text+livekit", "text+smart-turn"]
DEFAULTS = "livekit-agents defaults"
SILENCE_AT_DECISION = 0.3  # the VAD's silence window: when livekit asks the judge
SHORT_HESITATION = 0.75  # the goal's range: hesitations up to this long


def to_16k(samples: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> np.ndarray[Any, Any]:
    buffer = RecentAudio(keep_seconds=60)
    buffer.add(rtc.AudioFrame(samples.tobytes(), rate, 1, len(samples)))
    return buffer.last(60)


def at_decision(recording: Recording) -> np.ndarray[Any, np.dtype[np.int16]]:
    """What the microphone heard when livekit asks the judge: up to the hesitation (or
    the end), then the VAD's silence window."""
    rate, samples = recording.rate, recording.samples
    end = recording.pause_at if recording.pause_at is not None else speech_end_offset(samples, rate)
    heard = samples[: int(end * rate)]
    return np.concatenate([heard, np.zeros(int(SILENCE_AT_DECISION * rate), np.int16)])


@dataclass
class Judgement:
    words: str
    livekit: float
    smart_turn: float


def verdict(judge: str, seen: Judgement) -> bool:
    """True: the judge says the person has finished."""
    says = []
    if judge.startswith("text"):
        says.append(end_of_turn_probability(seen.words) >= 0.3)
    if "livekit" in judge:
        says.append(seen.livekit >= LiveKitTurnModel.threshold)
    if "smart-turn" in judge:
        says.append(seen.smart_turn >= SmartTurnModel.threshold)
    return all(says)


async def judge_offline(recordings: list[Recording], local_stt: LocalSTT) -> None:
    livekit, smart = LiveKitTurnModel(), SmartTurnModel()
    seen: list[tuple[Recording, Judgement]] = []
    errors = total = 0
    timings: dict[str, list[float]] = {"livekit": [], "smart-turn": []}
    for recording in recordings:
        audio = at_decision(recording)
        frame = rtc.AudioFrame(audio.tobytes(), recording.rate, 1, len(audio))
        heard = await local_stt.recognize(buffer=frame)
        whole = rtc.AudioFrame(
            recording.samples.tobytes(), recording.rate, 1, len(recording.samples)
        )
        said = await local_stt.recognize(buffer=whole)
        wrong, count = word_errors(recording.utterance.text, said.alternatives[0].text)
        errors, total = errors + wrong, total + count
        pcm = to_16k(audio, recording.rate)
        started = time.perf_counter()
        p_livekit = livekit.probability(pcm)
        timings["livekit"].append(time.perf_counter() - started)
        started = time.perf_counter()
        p_smart = smart.probability(pcm)
        timings["smart-turn"].append(time.perf_counter() - started)
        seen.append((recording, Judgement(heard.alternatives[0].text, p_livekit, p_smart)))

    unfinished = [(r, j) for r, j in seen if not r.utterance.finished]
    short = [(r, j) for r, j in unfinished if r.utterance.hesitation <= SHORT_HESITATION]
    finished = [(r, j) for r, j in seen if r.utterance.finished]
    print(
        f"\n1. judgements at the decision ({len(unfinished)} unfinished, {len(finished)} finished)"
    )
    print(f"   local STT word error rate on the whole utterances: {errors / total:.1%}")
    for model, values in timings.items():
        print(f"   {model} inference p50 {percentile(values, 50) * 1000:.0f} ms")
    print(
        f"\n{'judge':<18} {'unfinished said finished':>26} {'<=750 ms':>10}"
        f" {'finished said unfinished':>26}"
    )
    for judge in JUDGES:
        cut = sum(verdict(judge, j) for _, j in unfinished)
        cut_short = sum(verdict(judge, j) for _, j in short)
        slow = sum(not verdict(judge, j) for _, j in finished)
        print(
            f"{judge:<18} {cut:>4}/{len(unfinished)} ({cut / len(unfinished):>5.1%})      "
            f"{cut_short / len(short):>9.1%} {slow:>12}/{len(finished)}"
            f" ({slow / len(finished):>5.1%})"
        )


def audible_span(samples: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> tuple[float, float]:
    """(first sound, last sound), in seconds."""
    window = rate // 100
    blocks = samples[: len(samples) // window * window].astype(np.float64).reshape(-1, window)
    loud = np.flatnonzero(np.sqrt((blocks**2).mean(axis=1)) > 300)
    if len(loud) == 0:
        return 0.0, 0.0
    return loud[0] / 100, (loud[-1] + 1) / 100


class ScriptedSTT(stt.STT):
    """The seed's STT budget (50 ms) with perfect hearing: it answers with the words of
    the part of the utterance the audio holds (before the hesitation, after it, or all),
    so the judges see what an accurate STT would hear."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.recording: Recording | None = None

    def words_for(self, samples: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> str:
        recording = self.recording
        assert recording is not None
        utterance = recording.utterance
        first, last = audible_span(samples, rate)
        if recording.pause_at is None:
            return utterance.text
        start, end = audible_span(recording.samples, recording.rate)
        resumed = recording.pause_at + utterance.hesitation
        parts = {
            utterance.text: end - start,
            utterance.before: recording.pause_at - start,
            utterance.after: end - resumed,
        }
        heard = last - first
        return min(parts, key=lambda words: abs(parts[words] - heard))

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        await asyncio.sleep(STT_MS / 1000)
        frame = merge_frames(buffer) if isinstance(buffer, list) else buffer
        samples = np.frombuffer(frame.data, dtype=np.int16)
        return stt.SpeechEvent(
            stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[
                stt.SpeechData(
                    language=LanguageCode("en"), text=self.words_for(samples, frame.sample_rate)
                )
            ],
        )


@dataclass
class LiveFigures:
    cut_offs: list[str] = field(default_factory=list)
    cut_offs_short: int = 0
    short: int = 0
    unfinished: int = 0
    lost: list[str] = field(default_factory=list)
    sessions: int = 0
    word_errors: int = 0
    words: int = 0
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0


def cut_off(result: TalkResult) -> bool:
    """A reply was audible, or a turn committed, before the person finished."""
    end = result.speech_ends[0]
    return any(t < end for t in result.turn_times + result.reply_starts)


async def run_live(
    judge: str,
    recordings: list[Recording],
    new_api: Callable[[], ButlerAPI],
    engines: dict[str, Any],
    tuning: dict[str, float],
) -> LiveFigures:
    """One session per recording; `engines`: stt, tts, vad; `tuning`: VoiceSettings
    fields to change from Butler's defaults."""
    figures = LiveFigures()
    defaults = judge == DEFAULTS
    settings = VoiceSettings(end_of_turn="text" if defaults else judge, **tuning)
    for recording in recordings:
        if isinstance(engines["stt"], ScriptedSTT):
            engines["stt"].recording = recording
        result = await talk(
            [Utterance(recording.samples, at=0.3)],
            recording.rate,
            api=new_api(),
            settings=settings,
            stt_engine=engines["stt"],
            tts_engine=engines["tts"],
            vad_model=silero.VAD.load() if defaults else engines["vad"],
            tail_seconds=3.0,
            framework_defaults=defaults,
        )
        utterance = recording.utterance
        figures.sessions += 1
        for text in lost_transcripts(result.transcribed or result.heard, result.transcripts):
            figures.lost.append(f"{utterance.name}: '{text}' is in no turn {result.transcripts}")
        wrong, count = word_errors(utterance.text, " ".join(result.transcripts))
        figures.word_errors += wrong
        figures.words += count
        if utterance.finished:
            if result.end_to_first_audio:
                figures.latencies.append(result.end_to_first_audio[0])
            else:
                figures.unanswered += 1
            continue
        figures.unfinished += 1
        short = utterance.hesitation <= SHORT_HESITATION
        figures.short += short
        if cut_off(result):
            figures.cut_offs.append(f"{utterance.name}: {result.transcripts}")
            figures.cut_offs_short += short
    return figures


def report_live(title: str, results: dict[str, LiveFigures], verbose: bool) -> None:
    print(f"\n{title}")
    print(
        f"{'case':<24} {'false cut-offs':>15} {'<=750 ms':>9} {'lost speech':>12} {'WER':>6}"
        f" {'p50':>7} {'p95':>7} {'no reply':>9}"
    )
    for label, f in results.items():
        lat = f.latencies
        p50 = f"{percentile(lat, 50) * 1000:.0f}ms" if lat else "-"
        p95 = f"{percentile(lat, 95) * 1000:.0f}ms" if lat else "-"
        cut = len(f.cut_offs)
        print(
            f"{label:<24} {cut:>4}/{f.unfinished:<3} ({cut / max(1, f.unfinished):>4.0%})"
            f" {f.cut_offs_short / max(1, f.short):>9.1%} {len(f.lost):>5}/{f.sessions:<5}"
            f" {f.word_errors / max(1, f.words):>6.1%} {p50:>7} {p95:>7} {f.unanswered:>9}"
        )
    if verbose:
        for label, f in results.items():
            for line in f.cut_offs:
                print(f"  {label} cut off: {line}")
            for line in f.lost:
                print(f"  {label} lost: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=1, help="live part: every Nth utterance")
    parser.add_argument(
        "--configs",
        default=",".join(["defaults", *JUDGES]),
        help="live part: comma-separated, from defaults and " + ", ".join(JUDGES),
    )
    parser.add_argument(
        "--local-configs",
        default="text",
        help="the configs also run with the local models on the unfinished set ('' for none)",
    )
    parser.add_argument(
        "--pause", type=float, help="preflight_pause_seconds for Butler's cases (default: Butler's)"
    )
    parser.add_argument(
        "--min-delay",
        type=float,
        help="endpointing_min_delay_seconds for Butler's cases (default: Butler's)",
    )
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-judgements", action="store_true", help="no part 1")
    parser.add_argument("--verbose", action="store_true", help="list every cut-off and loss")
    args = parser.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    local_configs = [c.strip() for c in args.local_configs.split(",") if c.strip()]
    tuning = {
        name: value
        for name, value in (
            ("preflight_pause_seconds", args.pause),
            ("endpointing_min_delay_seconds", args.min_delay),
        )
        if value is not None
    }
    unknown = [c for c in configs + local_configs if c not in ("defaults", *JUDGES)]
    if unknown:
        raise SystemExit(f"unknown configs {unknown}: choose from defaults, {', '.join(JUDGES)}")

    with tempfile.TemporaryDirectory(prefix="butler-turn-bench-") as tmp:
        folder = Path(tmp)
        print(f"generating the labelled set with espeak-ng ({len(labelled_set())} utterances)")
        recordings = [record(u, folder) for u in labelled_set()]
        local_stt = LocalSTT()
        if not args.skip_judgements:
            asyncio.run(judge_offline(recordings, local_stt))
        if args.skip_live:
            return
        sample = recordings[:: args.every]
        unfinished = [r for r in sample if not r.utterance.finished]
        with EmbeddedPostgres(folder / "pg") as pg:
            migrate.upgrade(pg.dsn)
            stubs, llm_url, speech_url = start_service_stubs(ROOT, LLM_MS, STT_MS, TTS_MS)
            processes = list(stubs)
            try:
                api, api_url = start_butler_api(folder / "settings", pg.dsn, llm_url, JWT_SECRET)
                processes.append(api)
                wait_http(speech_url.removesuffix("/v1") + "/")
                user_id = asyncio.run(make_user(pg.dsn, api_url))
                credential = asyncio.run(open_voice_session(pg.dsn, uuid.UUID(user_id)))

                def new_api() -> ButlerAPI:
                    return ButlerAPI(base_url=api_url, credential=credential, session_id=BENCH_ROOM)

                vad_model = build_vad(VoiceSettings())
                local = {"stt": local_stt, "tts": LocalTTS(), "vad": vad_model}
                budget_results: dict[str, LiveFigures] = {}
                local_results: dict[str, LiveFigures] = {}
                for config in configs:
                    label = DEFAULTS if config == "defaults" else config
                    print(f"live, seed budget: {label} ({len(sample)} sessions)", flush=True)
                    budget = {
                        "stt": ScriptedSTT(),
                        "tts": service_engines(speech_url)["tts"],
                        "vad": vad_model,
                    }
                    budget_results[label] = asyncio.run(
                        run_live(label, sample, new_api, budget, tuning)
                    )
                for config in local_configs:
                    label = DEFAULTS if config == "defaults" else config
                    print(f"live, local models: {label} ({len(unfinished)} sessions)", flush=True)
                    local_results[label] = asyncio.run(
                        run_live(label, unfinished, new_api, local, tuning)
                    )
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(30)
        report_live(
            "2. live, the seed's budget (an STT that hears every word right in 50 ms)",
            budget_results,
            args.verbose,
        )
        if local_results:
            report_live(
                "3. live, the local models (faster-whisper tiny.en, Piper), unfinished set",
                local_results,
                args.verbose,
            )
        print(
            "\ngoals: false cut-offs <= 5% on hesitations up to 750 ms; lost speech 0; "
            "finished p50 <= 650 ms (seed budget)"
        )


if __name__ == "__main__":
    main()
