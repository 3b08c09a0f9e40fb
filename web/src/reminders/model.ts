/**
 * The Reminders page's logic, kept apart from React so that it can be tested: the repeat
 * choices of the form and the words for a rule, a timer's countdown, and times on the
 * person's own clock (their timezone in Settings, which may not be the device's).
 */
import type { Reminder } from "../api/types";
import { joinList } from "../app/words";

// -- Repeating ---------------------------------------------------------------------------

/** The longest text the server takes (ReminderCreate.text). */
export const MAX_TEXT = 300;

export type Repeat = { id: string; label: string; rule: string | null };

/** What the form offers; anything else can be asked for in chat. */
export const REPEATS: readonly Repeat[] = [
  { id: "none", label: "Does not repeat", rule: null },
  { id: "daily", label: "Every day", rule: "FREQ=DAILY" },
  { id: "weekdays", label: "Every weekday", rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" },
  { id: "weekly", label: "Every week", rule: "FREQ=WEEKLY" },
];

export function ruleOf(repeatId: string): string | null {
  return REPEATS.find((r) => r.id === repeatId)?.rule ?? null;
}

const WEEK = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
const DAY_NAMES: Record<string, string> = {
  MO: "Monday",
  TU: "Tuesday",
  WE: "Wednesday",
  TH: "Thursday",
  FR: "Friday",
  SA: "Saturday",
  SU: "Sunday",
};
const UNITS: Record<string, string> = { HOURLY: "hour", DAILY: "day", WEEKLY: "week", MONTHLY: "month", YEARLY: "year" };

/** The rule's parts by name, or null when a part is malformed or repeated. */
function partsOf(rule: string): Map<string, string> | null {
  const body = rule.trim().replace(/^RRULE:/i, "");
  const parts = new Map<string, string>();
  for (const part of body.split(";")) {
    const [name, value, extra] = part.split("=");
    if (!name || !value || extra !== undefined || parts.has(name.toUpperCase())) return null;
    parts.set(name.toUpperCase(), value.toUpperCase());
  }
  return parts;
}

/** "Every Monday and Thursday", "Every weekday", "Every weekend"; null for other days. */
function daysLabel(byDay: string): string | null {
  const days = byDay.split(",");
  if (!days.every((d) => d in DAY_NAMES) || new Set(days).size !== days.length) return null;
  const ordered = WEEK.filter((d) => days.includes(d));
  const key = ordered.join(",");
  if (key === WEEK.join(",")) return "Every day";
  if (key === "MO,TU,WE,TH,FR") return "Every weekday";
  if (key === "SA,SU") return "Every weekend";
  return `Every ${joinList(ordered.map((d) => DAY_NAMES[d] ?? d))}`;
}

/**
 * A repeat rule in words when it is a simple one ("Every weekday", "Every 2 weeks"),
 * otherwise the rule itself: a person can still read it, and nothing is hidden.
 */
export function recurrenceLabel(rule: string): string {
  const parts = partsOf(rule);
  const unit = UNITS[parts?.get("FREQ") ?? ""];
  if (!parts || !unit) return rule;
  const known = new Set(["FREQ", "INTERVAL", "BYDAY"]);
  if ([...parts.keys()].some((name) => !known.has(name))) return rule;
  const intervalText = parts.get("INTERVAL") ?? "1";
  if (!/^[1-9]\d*$/.test(intervalText)) return rule;
  const interval = Number(intervalText);
  const byDay = parts.get("BYDAY");
  if (byDay !== undefined) {
    const weekly = unit === "week" || unit === "day";
    return (weekly && interval === 1 && daysLabel(byDay)) || rule;
  }
  return interval === 1 ? `Every ${unit}` : `Every ${interval} ${unit}s`;
}

// -- Timers ------------------------------------------------------------------------------

/** A countdown as a clock shows it: "4:05", "1:02:09"; never below "0:00". */
export function countdown(seconds: number): string {
  // Rounded up: "0:01" until the last second is over, as a kitchen timer does.
  const total = Math.max(0, Math.ceil(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

/**
 * Seconds left now, from the server's count when the list arrived (`fetchedAt`, this
 * device's clock): a device whose clock is wrong still counts down right.
 */
export function secondsLeft(reminder: Pick<Reminder, "seconds_left">, fetchedAt: number, now: number): number {
  return reminder.seconds_left - Math.max(0, now - fetchedAt) / 1000;
}

/** What a timer is called: "Tea timer", or "Timer" when it has no name. */
export function timerName(reminder: Pick<Reminder, "text">): string {
  const name = reminder.text.trim();
  if (!name || name.toLowerCase() === "timer") return "Timer";
  return /timer$/i.test(name) ? name : `${name} timer`;
}

// -- Times on the person's clock -----------------------------------------------------------

type Wall = { year: number; month: number; day: number; hour: number; minute: number; second: number };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const wallFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock in `zone` at `instant` (ms since the epoch). */
function wallClock(instant: number, zone: string): Wall {
  let format = wallFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    wallFormats.set(zone, format);
  }
  const field = (type: Intl.DateTimeFormatPartTypes) =>
    Number(format.formatToParts(instant).find((p) => p.type === type)?.value);
  return {
    year: field("year"),
    month: field("month"),
    day: field("day"),
    hour: field("hour") % 24,
    minute: field("minute"),
    second: field("second"),
  };
}

function wallAsUtc(wall: Wall): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

/** The zone's offset from UTC at `instant`, in minutes (60 for London in summer). */
export function offsetMinutes(instant: number, zone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  return Math.round((wallAsUtc(wallClock(whole, zone)) - whole) / MINUTE_MS);
}

const two = (n: number) => String(n).padStart(2, "0");

function isoWithOffset(instant: number, offset: number): string {
  const wall = new Date(instant + offset * MINUTE_MS);
  const date = `${wall.getUTCFullYear()}-${two(wall.getUTCMonth() + 1)}-${two(wall.getUTCDate())}`;
  const time = `${two(wall.getUTCHours())}:${two(wall.getUTCMinutes())}:${two(wall.getUTCSeconds())}`;
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${date}T${time}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * A date-time input's value ("2026-12-02T18:00"), read on the wall clock of `zone`, as
 * ISO 8601 with that zone's offset then ("2026-12-02T18:00:00+00:00"); null when the
 * value is not one. As the server does for repeats: a time the clocks skip in spring is
 * an hour later, and a time they repeat in autumn is the first of the two.
 */
export function zonedIso(local: string, zone: string): string | null {
  const match = LOCAL_INPUT.exec(local);
  if (!match) return null;
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = match.slice(1).map((n) => Number(n ?? 0));
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // The offsets a day either side: any change of the clocks near this time is between.
  const before = offsetMinutes(asUtc - DAY_MS, zone);
  const after = offsetMinutes(asUtc + DAY_MS, zone);
  const fits = [before, after]
    .map((offset) => asUtc - offset * MINUTE_MS)
    .filter((instant) => asUtc - offsetMinutes(instant, zone) * MINUTE_MS === instant);
  const instant = fits.length > 0 ? Math.min(...fits) : asUtc - before * MINUTE_MS;
  return isoWithOffset(instant, offsetMinutes(instant, zone));
}

function dayNumber(wall: Wall): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day) / DAY_MS;
}

/**
 * When something is due, on the person's clock: "Today, 18:00", "Tomorrow, 07:30",
 * "Wed 9 Dec, 18:00"; the year too when it is not this one.
 */
export function formatWhen(dueAt: string, zone: string, now: number, locale?: string): string {
  const due = Date.parse(dueAt);
  const dueWall = wallClock(due, zone);
  const nowWall = wallClock(now, zone);
  const time = new Intl.DateTimeFormat(locale, { timeZone: zone, timeStyle: "short" }).format(due);
  const days = dayNumber(dueWall) - dayNumber(nowWall);
  if (days === 0) return `Today, ${time}`;
  if (days === 1) return `Tomorrow, ${time}`;
  const date = new Intl.DateTimeFormat(locale, {
    timeZone: zone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: dueWall.year === nowWall.year ? undefined : "numeric",
  }).format(due);
  return `${date}, ${time}`;
}
