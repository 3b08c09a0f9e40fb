"""Repeating reminders keep to the person's wall clock across the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from butler.errors import InvalidInput
from butler.reminders.recurrence import next_after, parse_rule

LONDON = ZoneInfo("Europe/London")


def occurrences(rule_text: str, first: datetime, zone: ZoneInfo, count: int) -> list[datetime]:
    rule = parse_rule(rule_text, first, zone)
    found, after = [], first
    for _ in range(count):
        following = next_after(rule, after, zone)
        assert following is not None
        found.append(following)
        after = following
    return found


def test_a_weekday_reminder_stays_at_half_past_seven_through_the_march_change() -> None:
    # Friday 26 March 2027, 07:30 GMT; the clocks go forward on Sunday 28 March.
    first = datetime(2027, 3, 26, 7, 30, tzinfo=LONDON)
    found = occurrences("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", first, LONDON, 3)
    assert [f.astimezone(LONDON).strftime("%a %H:%M") for f in found] == [
        "Mon 07:30",
        "Tue 07:30",
        "Wed 07:30",
    ]
    # In UTC the hour moved: 07:30 GMT before, 06:30 UTC (07:30 BST) after.
    assert first.astimezone(UTC).hour == 7
    assert found[0].astimezone(UTC).strftime("%H:%M") == "06:30"


def test_a_daily_reminder_stays_at_half_past_seven_through_the_october_change() -> None:
    first = datetime(2027, 10, 30, 7, 30, tzinfo=LONDON)  # BST; GMT from 31 October
    found = occurrences("RRULE:FREQ=DAILY", first, LONDON, 2)
    assert [f.astimezone(LONDON).strftime("%d %H:%M") for f in found] == ["31 07:30", "01 07:30"]
    assert first.astimezone(UTC).hour == 6
    assert found[0].astimezone(UTC).hour == 7


def test_a_time_the_spring_change_skips_comes_an_hour_later() -> None:
    first = datetime(2027, 3, 27, 1, 30, tzinfo=LONDON)
    (skipped,) = occurrences("FREQ=DAILY", first, LONDON, 1)
    # As stored (an instant), then read back on the London clock.
    assert skipped.astimezone(UTC).astimezone(LONDON).strftime("%d %H:%M %Z") == "28 02:30 BST"


def test_count_and_until_end_the_rule() -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
    rule = parse_rule("FREQ=DAILY;COUNT=2", first, LONDON)
    second = next_after(rule, first, LONDON)
    assert second is not None and next_after(rule, second, LONDON) is None
    until = parse_rule("FREQ=DAILY;UNTIL=20270105T235959Z", first, LONDON)
    assert next_after(until, datetime(2027, 1, 5, 9, 0, tzinfo=LONDON), LONDON) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("FREQ=MINUTELY", "every 15 minutes"),
        ("FREQ=HOURLY;BYMINUTE=0,5", "every 15 minutes"),
        ("FREQ=SECONDLY", "every 15 minutes"),
        ("FREQ=FORTNIGHTLY", "not a valid RRULE"),
        ("DTSTART:20270101T000000\nRRULE:FREQ=DAILY", "one RRULE"),
        ("FREQ=DAILY;DTSTART=20270101T000000", "DTSTART"),
        ("", "one RRULE"),
        ("FREQ=DAILY;" + "BYHOUR=1;" * 60, "one RRULE"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_rule(text, datetime(2027, 1, 4, 9, 0, tzinfo=LONDON), LONDON)


@pytest.mark.parametrize(
    "text",
    ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;COUNT=1", "FREQ=YEARLY;INTERVAL=10"],
)
def test_a_rule_that_never_repeats_soon_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="never repeats"):
        parse_rule(text, datetime(2027, 1, 4, 9, 0, tzinfo=LONDON), LONDON)


def test_every_leap_day_repeats_in_four_years() -> None:
    first = datetime(2028, 2, 29, 9, 0, tzinfo=LONDON)
    rule = parse_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", first, LONDON)
    following = next_after(rule, first, LONDON)
    assert following is not None and following.year == 2032
