"""Timer commands understood without a language model.

Home Assistant's own English timer sentences (home-assistant-intents, matched with
hassil) and a few of Butler's for common phrasings they lack ("set a pasta timer for 12
minutes", "how long is left?"). Only starting, asking about and cancelling a timer;
sentences that need a satellite's area or run a command later go to the LLM.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from hassil.intents import Intents
from hassil.recognize import recognize_best
from home_assistant_intents import get_intents

ACTIONS = {"HassStartTimer": "start", "HassTimerStatus": "status", "HassCancelTimer": "cancel"}
_LENGTH = (
    "({timer_hours:hours}( |-)hour[s] [[and] {timer_minutes:minutes}( |-)minute[s]]"
    " [[and] {timer_seconds:seconds}( |-)second[s]]"
    "|{timer_minutes:minutes}( |-)minute[s] [[and] {timer_seconds:seconds}( |-)second[s]]"
    "|{timer_seconds:seconds}( |-)second[s])"
)
# Butler's own sentences, beside Home Assistant's.
_OWN_SENTENCES = {
    "HassStartTimer": [
        "<timer_set> [a|an|the|my] {timer_name:name} timer for " + _LENGTH,
    ],
    "HassTimerStatus": [
        "how (long|much time) is left [on [the|my] timer[s]]",
        "how (long|much time) is left on [the|my] {timer_name:name} timer",
        "how long (until|before) [the|my] {timer_name:name} timer [is done|goes off|rings]",
    ],
}


@dataclass(frozen=True)
class TimerCommand:
    action: Literal["start", "status", "cancel"]
    seconds: int | None = None  # how long, for "start"
    name: str = ""  # "pasta"; "" for an unnamed timer (or, asking, for every timer)


@cache
def timer_intents() -> tuple[Intents, tuple[str, ...]]:
    data = get_intents("en")
    if data is None:  # the package always ships English
        raise RuntimeError("home-assistant-intents has no English sentences")
    intents: dict[str, Any] = {}
    for name in ACTIONS:
        groups = [g for g in data["intents"][name]["data"] if _usable(g)]
        own = _OWN_SENTENCES.get(name)
        if own:
            groups.append({"sentences": own})
        intents[name] = {**data["intents"][name], "data": groups}
    return Intents.from_dict({**data, "intents": intents}), tuple(data.get("skip_words") or ())


def _usable(group: dict[str, Any]) -> bool:
    combination = str((group.get("metadata") or {}).get("slot_combination", ""))
    # "command" sentences run another command later; "area" ones name a satellite's room.
    return "command" not in combination and "area" not in combination


def might_be_timer(text: str) -> bool:
    """A cheap look before matching: wildcard names make a failed match cost ~20 ms,
    which every other turn would pay."""
    lowered = text.lower()
    return "timer" in lowered or ("left" in lowered and lowered.lstrip().startswith("how"))


def understand(text: str) -> TimerCommand | None:
    if not might_be_timer(text):
        return None
    intents, skip_words = timer_intents()
    result = recognize_best(text, intents, skip_words=skip_words, language="en")
    if result is None or result.intent.name not in ACTIONS:
        return None
    values = {k: v.value for k, v in result.entities.items() if not v.is_wildcard}
    name = result.entities["name"].text.strip() if "name" in result.entities else ""
    action = ACTIONS[result.intent.name]
    if action == "start":
        seconds = (
            int(values.get("hours") or 0) * 3600
            + int(values.get("minutes") or 0) * 60
            + int(values.get("seconds") or 0)
        )
        return TimerCommand("start", seconds, _plain(name)) if seconds > 0 else None
    if any(k in values for k in ("start_hours", "start_minutes", "start_seconds")):
        return None  # "the 10 minute timer": the LLM can tell which from the list
    return TimerCommand(action, None, _plain(name))  # type: ignore[arg-type]


def _plain(name: str) -> str:
    cleaned = " ".join(name.replace(".", " ").replace("?", " ").split()).lower()
    return cleaned.removeprefix("the ").removesuffix(" timer")
