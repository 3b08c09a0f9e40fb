import { describe, expect, it } from "vitest";
import {
  countdown,
  formatWhen,
  offsetMinutes,
  recurrenceLabel,
  REPEATS,
  ruleOf,
  secondsLeft,
  timerName,
  zonedIso,
} from "../src/reminders/model";

describe("the form's repeat choices", () => {
  it("send the rules the server repeats by, and none for a one-off", () => {
    expect(ruleOf("none")).toBeNull();
    expect(ruleOf("daily")).toBe("FREQ=DAILY");
    expect(ruleOf("weekdays")).toBe("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR");
    expect(ruleOf("weekly")).toBe("FREQ=WEEKLY");
    expect(ruleOf("something else")).toBeNull();
  });

  it("read back as the words the form offered", () => {
    for (const repeat of REPEATS) {
      if (repeat.rule) expect(recurrenceLabel(repeat.rule)).toBe(repeat.label);
    }
  });
});

describe("recurrenceLabel", () => {
  it("says simple rules in words, whatever their case, order or prefix", () => {
    expect(recurrenceLabel("RRULE:FREQ=DAILY")).toBe("Every day");
    expect(recurrenceLabel("byday=fr,mo,we;freq=weekly")).toBe("Every Monday, Wednesday and Friday");
    expect(recurrenceLabel("FREQ=WEEKLY;BYDAY=TH")).toBe("Every Thursday");
    expect(recurrenceLabel("FREQ=WEEKLY;BYDAY=SU,SA")).toBe("Every weekend");
    expect(recurrenceLabel("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR,SA,SU")).toBe("Every day");
    expect(recurrenceLabel("FREQ=MONTHLY")).toBe("Every month");
    expect(recurrenceLabel("FREQ=YEARLY;INTERVAL=1")).toBe("Every year");
    expect(recurrenceLabel("FREQ=WEEKLY;INTERVAL=2")).toBe("Every 2 weeks");
    expect(recurrenceLabel("FREQ=HOURLY;INTERVAL=3")).toBe("Every 3 hours");
  });

  it("shows any other rule as it is, rather than a wrong summary", () => {
    for (const rule of [
      "FREQ=MONTHLY;BYDAY=1MO", // the first Monday
      "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", // every other Monday
      "FREQ=DAILY;COUNT=5",
      "FREQ=WEEKLY;UNTIL=20270101T000000Z",
      "FREQ=MONTHLY;BYDAY=MO", // every Monday of each month: not weekly words
      "FREQ=DAILY;INTERVAL=0",
      "FREQ=DAILY;FREQ=WEEKLY",
      "FREQ=MINUTELY",
      "FREQ=WEEKLY;BYDAY=MO,MO",
      "not a rule",
      "",
    ]) {
      expect(recurrenceLabel(rule)).toBe(rule);
    }
  });
});

describe("countdown", () => {
  it("reads as a kitchen timer: minutes and seconds, hours when there are some", () => {
    expect(countdown(245)).toBe("4:05");
    expect(countdown(59)).toBe("0:59");
    expect(countdown(3600)).toBe("1:00:00");
    expect(countdown(3729)).toBe("1:02:09");
    expect(countdown(86400)).toBe("24:00:00");
  });

  it("counts a part of a second as a second, and stops at 0:00", () => {
    expect(countdown(0.2)).toBe("0:01");
    expect(countdown(9.001)).toBe("0:10");
    expect(countdown(0)).toBe("0:00");
    expect(countdown(-12)).toBe("0:00");
  });

  it("goes down from the server's count by this device's elapsed time", () => {
    const fetchedAt = 1_000_000;
    expect(secondsLeft({ seconds_left: 300 }, fetchedAt, fetchedAt + 61_500)).toBe(238.5);
    // A tick from before the list arrived does not add time.
    expect(secondsLeft({ seconds_left: 300 }, fetchedAt, fetchedAt - 900)).toBe(300);
  });
});

describe("timerName", () => {
  it("names a timer by what it is for", () => {
    expect(timerName({ text: "tea" })).toBe("tea timer");
    expect(timerName({ text: "Pasta timer" })).toBe("Pasta timer");
    expect(timerName({ text: "" })).toBe("Timer");
    expect(timerName({ text: " timer " })).toBe("Timer");
  });
});

describe("zonedIso: a date-time input on the person's clock", () => {
  it("carries the zone's offset on that date", () => {
    expect(zonedIso("2026-12-02T18:00", "Europe/London")).toBe("2026-12-02T18:00:00+00:00");
    expect(zonedIso("2026-07-02T18:00", "Europe/London")).toBe("2026-07-02T18:00:00+01:00");
    expect(zonedIso("2026-07-02T07:30", "America/New_York")).toBe("2026-07-02T07:30:00-04:00");
    expect(zonedIso("2026-01-15T07:30", "America/New_York")).toBe("2026-01-15T07:30:00-05:00");
    expect(zonedIso("2026-03-01T09:15", "Asia/Kolkata")).toBe("2026-03-01T09:15:00+05:30");
    expect(zonedIso("2026-03-01T09:15:30", "UTC")).toBe("2026-03-01T09:15:30+00:00");
  });

  it("is the same moment whatever zone this device is in", () => {
    const iso = zonedIso("2026-12-31T23:59", "Pacific/Auckland");
    expect(iso).toBe("2026-12-31T23:59:00+13:00");
    expect(new Date(iso ?? "").toISOString()).toBe("2026-12-31T10:59:00.000Z");
  });

  it("moves a time the clocks skip an hour on, and takes the first of a repeated one", () => {
    // London: 01:00 becomes 02:00 on 29 March 2026, 02:00 becomes 01:00 on 25 October.
    expect(zonedIso("2026-03-29T01:30", "Europe/London")).toBe("2026-03-29T02:30:00+01:00");
    expect(zonedIso("2026-10-25T01:30", "Europe/London")).toBe("2026-10-25T01:30:00+01:00");
    expect(zonedIso("2026-10-25T02:30", "Europe/London")).toBe("2026-10-25T02:30:00+00:00");
  });

  it("refuses what a date-time input never holds", () => {
    expect(zonedIso("", "UTC")).toBeNull();
    expect(zonedIso("2026-12-02", "UTC")).toBeNull();
    expect(zonedIso("tomorrow at six", "UTC")).toBeNull();
  });

  it("knows each zone's offset at a moment", () => {
    expect(offsetMinutes(Date.UTC(2026, 6, 1, 12), "Europe/London")).toBe(60);
    expect(offsetMinutes(Date.UTC(2026, 6, 1, 12), "America/Los_Angeles")).toBe(-420);
    expect(offsetMinutes(Date.UTC(2026, 6, 1, 12, 0, 0, 999), "Asia/Kathmandu")).toBe(345);
  });
});

describe("formatWhen", () => {
  // Tuesday 1 December 2026, 22:30 in London: already Wednesday in Tokyo.
  const now = Date.UTC(2026, 11, 1, 22, 30);

  it("says today and tomorrow on the person's own calendar", () => {
    expect(formatWhen("2026-12-01T23:00:00+00:00", "Europe/London", now, "en-GB")).toBe("Today, 23:00");
    expect(formatWhen("2026-12-02T07:30:00+00:00", "Europe/London", now, "en-GB")).toBe("Tomorrow, 07:30");
    // The same moment, for someone in Tokyo, is later on their today.
    expect(formatWhen("2026-12-02T07:30:00+00:00", "Asia/Tokyo", now, "en-GB")).toBe("Today, 16:30");
  });

  it("gives the day and date further on, and the year only when it is not this one", () => {
    expect(formatWhen("2026-12-09T18:00:00+00:00", "Europe/London", now, "en-GB")).toBe("Wed 9 Dec, 18:00");
    expect(formatWhen("2027-01-04T09:00:00+00:00", "Europe/London", now, "en-GB")).toBe("Mon, 4 Jan 2027, 09:00");
  });

  it("uses the locale's own clock", () => {
    expect(formatWhen("2026-12-09T18:00:00+00:00", "Europe/London", now, "en-US")).toMatch(/^Wed, Dec 9, 6:00\sPM$/);
  });
});
