"""Recurrence: an RFC 5545 RRULE evaluated on the person's wall clock.

"Every weekday at 7:30" must stay 7:30 when the clocks change, so occurrences are
computed as local times without an offset (the rule's DTSTART is the first due time on
that wall clock) and each is then placed in the zone. A local time that a spring change
skips (01:30 on the March Sunday in London) falls an hour later, at 02:30 summer time;
one the autumn change repeats is the first of the two.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from butler.errors import InvalidInput

MAX_RULE_LENGTH = 300
# Closer than this, a reminder is a nuisance, not a reminder (and a rule mistake would
# flood the person's phone).
MIN_GAP = timedelta(minutes=15)
_CHECKED_OCCURRENCES = 50
REPEATS_WITHIN = timedelta(days=5 * 366)
_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)


def parse_rule(text: str, first: datetime, zone: ZoneInfo) -> rrule:
    """The rule in `text` ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" or with an "RRULE:"
    prefix), starting at `first` (the first due time); InvalidInput with the reason."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :].strip()
    if not body or len(body) > MAX_RULE_LENGTH or "\n" in body or "\r" in body:
        raise InvalidInput(
            f"recurrence must be one RRULE of at most {MAX_RULE_LENGTH} characters, "
            'such as "FREQ=WEEKLY;BYDAY=MO,WE,FR"'
        )
    if "DTSTART" in body.upper() or "TZID" in body.upper():
        raise InvalidInput("recurrence must not carry its own DTSTART: due_at is its start")
    body = _UNTIL_UTC.sub(lambda m: "UNTIL=" + _until_on_wall(m.group(1), zone), body)
    try:
        rule = rrulestr(body, dtstart=_wall(first, zone))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"recurrence is not a valid RRULE: {exc}") from exc
    if not isinstance(rule, rrule):
        raise InvalidInput("recurrence must be a single RRULE")
    _check_spacing(rule, _wall(first, zone))
    return rule


def _check_spacing(rule: rrule, first: datetime) -> None:
    """At most every 15 minutes, and again within REPEATS_WITHIN of the first time."""
    occurrences = list(islice(_within(rule, first + REPEATS_WITHIN), _CHECKED_OCCURRENCES + 1))
    if not any(o > first for o in occurrences):
        raise InvalidInput("recurrence never repeats within five years of due_at")
    for earlier, later in pairwise(occurrences):
        if later - earlier < MIN_GAP:
            raise InvalidInput("a reminder may repeat at most every 15 minutes")


def _within(rule: rrule, end: datetime) -> rrule:
    """The rule cut off at `end`: a rule with no occurrence left (the 30th of February)
    would otherwise be searched up to the year 9999."""
    until = rule._until  # type: ignore[attr-defined]
    if rule._count is not None or (until is not None and until <= end):  # type: ignore[attr-defined]
        return rule
    return rule.replace(until=end)


def next_after(rule: rrule, after: datetime, zone: ZoneInfo) -> datetime | None:
    """The rule's first occurrence strictly after `after` (and within REPEATS_WITHIN of
    it), or None when it has ended."""
    wall = _wall(after, zone)
    found: datetime | None = _within(rule, wall + REPEATS_WITHIN).after(wall, inc=False)
    if found is None:
        return None
    # zoneinfo reads a skipped wall time with the offset before the change (an hour on,
    # in summer time) and a repeated one as the first of the two (fold 0).
    return found.replace(tzinfo=zone)


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` on the zone's wall clock, without an offset (what the rule counts in)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _until_on_wall(value: str, zone: ZoneInfo) -> str:
    """An UNTIL in UTC ("20270301T000000Z") as the zone's wall time the rule counts in."""
    moment = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return _wall(moment, zone).strftime("%Y%m%dT%H%M%S")
