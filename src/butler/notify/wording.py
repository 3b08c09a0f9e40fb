"""What a firing says, the same on every channel: a title and a line for a
notification, and a sentence to speak. A late one says how late."""

from __future__ import annotations

from dataclasses import dataclass

from butler.notify.firing import Firing

# Later than this, the person is told: a reminder a few seconds late is on time.
LATE_AFTER_SECONDS = 60


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    spoken: str
    tag: str  # the same for a repeat of one firing: the browser shows it once


def notice(firing: Firing) -> Notice:
    late = lateness(firing.late_seconds)
    if firing.kind == "timer":
        name = firing.text.strip()
        what = (
            f"Your {name} timer is done"
            if name and name.lower() != "timer"
            else ("Your timer is done")
        )
        title = "Timer done"
        body = f"{what}."
        spoken = f"{what}{f', {late}' if late else ''}."
    else:
        title = "Reminder"
        body = firing.text
        spoken = f"A reminder{f', {late}' if late else ''}: {firing.text}"
        if not spoken.endswith((".", "!", "?")):
            spoken += "."
    if late:
        body = f"{body} ({late})"
    return Notice(title=title, body=body, spoken=spoken, tag=f"butler-{firing.id}")


def lateness(seconds: float) -> str:
    """ "12 minutes late", "3 hours late", "2 days late"; "" when on time."""
    if seconds < LATE_AFTER_SECONDS:
        return ""
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} late"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} hours late"
    return f"{round(seconds / 86400)} days late"
