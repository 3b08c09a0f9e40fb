"""The labelled turn-taking set that the tests and bench/turn_taking.py share.

Unfinished utterances stop mid-phrase for a hesitation and then carry on ("remind me
to … call my mother at six"); finished ones are whole requests, questions and one-word
answers. Each is generated with espeak-ng at run time (SSML `<break>` for the
hesitation, so the voice carries on after it as a speaker would), in several voices and
speeds. Hesitations run from 300 to 1000 ms.
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
import subprocess
import wave
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from butler.voice.non_speech import is_not_a_request

# (before the hesitation, after it): fillers, lists, numbers said after a pause, and
# phrases cut after a word that could end a sentence ("what is the weather … tomorrow").
UNFINISHED = [
    ("Remind me to", "call my mother at six."),
    ("Please dim the bedroom lights to", "thirty percent."),
    ("Add milk, eggs and", "bread to the shopping list."),
    ("Set a timer for um", "ten minutes."),
    ("Switch off everything in", "the kitchen."),
    ("Turn off the", "kitchen lights."),
    ("What is the weather", "like tomorrow morning?"),
    ("Can you tell me uh", "when the bakery closes?"),
    ("Turn the heating up to", "twenty one degrees."),
    ("Remind me on Friday", "to take the bins out."),
    ("I need you to", "lock the front door."),
    ("Play some music by", "the Beatles in the living room."),
    ("Call my", "sister."),
    ("Set an alarm for", "seven fifteen tomorrow."),
    ("What time does the", "train to London leave?"),
    ("Put apples, pears,", "and bananas on the list."),
    ("Tell me a story about", "a dragon who likes tea."),
    ("How long will it take to", "drive to work today?"),
    ("Open the garage and um", "switch on the porch light."),
    ("Add an appointment with", "the dentist on Tuesday at nine."),
    ("Can you", "turn the volume down?"),
    ("The code for the alarm is", "four four seven two."),
    ("Read me my messages from", "this morning."),
    ("My favourite colour is", "green."),
    ("Send a message to Anna saying", "I will be late."),
    ("Water the plants in", "the greenhouse at eight."),
    ("Move the meeting from three to", "half past four."),
    ("Is it going to rain", "this afternoon in Leeds?"),
    ("We are out of uh", "coffee and oat milk."),
    ("Dim the lights a", "little bit please."),
]
FINISHED = [
    "Please turn off the kitchen lights.",
    "What is the weather like tomorrow?",
    "Remind me to call mum at six.",
    "Set a timer for ten minutes.",
    "Is the front door locked?",
    "Play some quiet music in the living room.",
    "What time is it?",
    "Add milk to the shopping list.",
    "Turn the heating down a little.",
    "When does the bakery close on Sundays?",
    "Dim the bedroom lights to half.",
    "Lock all the doors.",
    "How are you today?",
    "Tell me a joke.",
    "Cancel my alarm.",
    "Yes.",
    "No.",
    "Stop.",
    "Thanks.",
    "Goodnight.",
]
VOICES = [("en-us", 160), ("en-gb+f3", 150), ("en-us+m3", 175), ("en-gb-x-rp+f4", 140)]
HESITATIONS = [0.3, 0.45, 0.6, 0.75, 0.9, 1.0]
ESPEAK_RATE = 22_050


@dataclass(frozen=True)
class LabelledUtterance:
    before: str  # the words up to the hesitation (all of them when finished)
    after: str  # the words after it; "" when finished
    hesitation: float  # seconds of silence inside the utterance; 0 when finished
    voice: str
    speed: int  # words a minute

    @property
    def finished(self) -> bool:
        return not self.after

    @property
    def text(self) -> str:
        return f"{self.before} {self.after}".strip()

    @property
    def name(self) -> str:
        pause = f" … ({self.hesitation * 1000:.0f} ms) " if self.after else ""
        return f"{self.before}{pause}{self.after} [{self.voice}, {self.speed}]"


def labelled_set() -> list[LabelledUtterance]:
    """60 unfinished utterances (each phrase in two voices, with two different
    hesitations of 300 to 1000 ms, drawn with a fixed seed) and 40 finished ones (each
    in two voices)."""
    voices = itertools.cycle(VOICES)
    draw = random.Random(13)  # the same set every time
    pauses = iter([p for _ in UNFINISHED for p in draw.sample(HESITATIONS, 2)])
    unfinished = [
        LabelledUtterance(before, after, next(pauses), *next(voices))
        for before, after in UNFINISHED
        for _ in range(2)
    ]
    finished = [
        LabelledUtterance(text, "", 0.0, *next(voices)) for text in FINISHED for _ in range(2)
    ]
    return unfinished + finished


@dataclass(frozen=True)
class Recording:
    utterance: LabelledUtterance
    samples: np.ndarray[Any, np.dtype[np.int16]]
    rate: int
    pause_at: float | None  # seconds from the start to the hesitation's silence


def record(utterance: LabelledUtterance, folder: Path) -> Recording:
    """The utterance as espeak-ng says it (a WAV in `folder`, reused when present)."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required: apt-get install espeak-ng"
    path = folder / f"{abs(hash(utterance))}.wav"
    if not path.exists():
        ssml = escape(utterance.before)
        if utterance.after:
            ssml += (
                f' <break time="{utterance.hesitation * 1000:.0f}ms"/> {escape(utterance.after)}'
            )
        subprocess.run(
            [
                espeak,
                "-m",
                "-v",
                utterance.voice,
                "-s",
                str(utterance.speed),
                "-w",
                str(path),
                f"<speak>{ssml}</speak>",
            ],
            check=True,
        )
    with wave.open(str(path), "rb") as handle:
        rate = handle.getframerate()
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    pause_at = longest_quiet_start(samples, rate) if utterance.after else None
    return Recording(utterance, samples, rate, pause_at)


def longest_quiet_start(samples: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> float:
    """Where the longest stretch of silence between two sounds starts, in seconds."""
    window = rate // 100
    blocks = samples[: len(samples) // window * window].astype(np.float64).reshape(-1, window)
    loud = np.sqrt((blocks**2).mean(axis=1)) > 300
    sounding = np.flatnonzero(loud)
    gaps = np.diff(sounding)
    longest = int(np.argmax(gaps))
    return float((sounding[longest] + 1) * window / rate)


_ONES = [
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
    *("seventeen", "eighteen", "nineteen"),
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TOKEN = re.compile(r"\d+|[a-z]+(?:'[a-z]+)?")


def _number_words(number: int) -> list[str]:
    if number < 20:
        return [_ONES[number]]
    if number < 100:
        return [_TENS[number // 10]] + ([_ONES[number % 10]] if number % 10 else [])
    return [str(number)]  # beyond what the set says


def words(text: str) -> list[str]:
    """Lower-case words, numbers spelled out as the set says them ("7:15" → seven
    fifteen, "30%" → thirty percent), so whisper's digits compare with the text."""
    text = text.lower().replace("%", " percent ").replace(":", " ").replace("-", " ")
    out: list[str] = []
    for token in _TOKEN.findall(text):
        out.extend(_number_words(int(token)) if token.isdigit() else [token])
    return out


def word_errors(reference: str, heard: str) -> tuple[int, int]:
    """(word-level edit distance, reference words)."""
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[len(hyp)], len(ref)


def lost_transcripts(transcribed: list[str], turns: list[str]) -> list[str]:
    """The STT's final transcripts that ask something but did not all reach a committed
    turn: speech that fell between two turns, whatever the STT made of it. (A hesitation
    sound alone is dropped on purpose: see voice/non_speech.)"""
    held = Counter(words(" ".join(turns)))
    lost = []
    for text in transcribed:
        needed = Counter(words(text))
        if not is_not_a_request(text, butler_speaking=False) and needed - held:
            lost.append(text)
        held -= needed
    return lost
