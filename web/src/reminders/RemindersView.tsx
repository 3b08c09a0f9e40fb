import { type FormEvent, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { Reminder, ReminderCreate, ReminderList, User } from "../api/types";
import { type Note, NoteLine } from "../app/NoteLine";
import { usePolled } from "../app/usePolled";
import { messageOf } from "../app/words";
import { NotificationPrompt } from "../notifications/NotificationPrompt";
import {
  countdown,
  formatWhen,
  MAX_TEXT,
  recurrenceLabel,
  REPEATS,
  ruleOf,
  secondsLeft,
  timerName,
  zonedIso,
} from "./model";

// Reminders set by chat or voice, or fired, change the list while the page is open.
const REFRESH_MS = 30_000;
// After the soonest one is due, ask again once the server has had time to fire it.
const AFTER_DUE_MS = 2_000;

type Listed = { reminders: Reminder[]; fetchedAt: number };

async function fetchReminders(): Promise<Listed> {
  const { reminders } = await api.json<ReminderList>("/api/reminders");
  return { reminders, fetchedAt: Date.now() };
}

/** Date.now(), again every `everyMs`: what makes countdowns move. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

function nameOf(reminder: Reminder): string {
  return reminder.kind === "timer" ? timerName(reminder) : reminder.text;
}

/** The person's waiting reminders and timers, cancelling them, and setting a new one. */
export function RemindersView({ user }: { user: User }) {
  const { value: listed, error: loadError, reload: load, update } = usePolled(fetchReminders, REFRESH_MS);
  const [listNote, setListNote] = useState<Note>(null);
  const [formNote, setFormNote] = useState<Note>(null);
  const [busy, setBusy] = useState(false);
  const [addedOne, setAddedOne] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const zone = user.timezone;
  const hasTimers = listed?.reminders.some((r) => r.kind === "timer") ?? false;
  const now = useNow(hasTimers ? 1000 : REFRESH_MS);

  // The soonest one leaves the list (or moves on to its next time) once it fires. One
  // already overdue waits for the next refresh: asking sooner would not fire it.
  useEffect(() => {
    const soonest = listed?.reminders[0];
    if (!listed || !soonest || soonest.seconds_left < 0) return;
    const wait = secondsLeft(soonest, listed.fetchedAt, Date.now()) * 1000 + AFTER_DUE_MS;
    if (wait > REFRESH_MS) return;
    const timer = window.setTimeout(() => void load(), Math.max(wait, 0));
    return () => window.clearTimeout(timer);
  }, [listed, load]);

  const add = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const due = zonedIso(String(data.get("due") ?? ""), zone);
    if (!due) {
      setFormNote({ kind: "error", text: "Choose a date and time." });
      return;
    }
    const body: ReminderCreate = {
      text: String(data.get("text") ?? "").trim(),
      due_at: due,
      recurrence: ruleOf(String(data.get("repeat") ?? "")),
    };
    setBusy(true);
    setFormNote(null);
    try {
      const made = await api.json<Reminder>("/api/reminders", { method: "POST", body: JSON.stringify(body) });
      form.reset();
      setAddedOne(true);
      setFormNote({ kind: "info", text: `Set: ${made.text} — ${formatWhen(made.due_at, zone, Date.now())}.` });
      await load();
    } catch (error) {
      setFormNote({ kind: "error", text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const cancel = async (reminder: Reminder) => {
    const name = nameOf(reminder);
    try {
      await api.json<void>(`/api/reminders/${reminder.id}`, { method: "DELETE" });
      update((current) => ({ ...current, reminders: current.reminders.filter((r) => r.id !== reminder.id) }));
      setListNote({ kind: "info", text: `Cancelled: ${name}` });
      heading.current?.focus(); // its button is gone: keep the keyboard in the list
    } catch (error) {
      setListNote({ kind: "error", text: `Couldn't cancel ${name}: ${messageOf(error)}` });
    }
    await load(); // also after a 404: it fired, or was cancelled elsewhere
  };

  const reminders = listed?.reminders ?? [];
  return (
    <section className="reminders" aria-label="Reminders">
      <p className="hint">
        What {user.soul.butler_name} will remind you of. You can also ask for a reminder or a timer in chat or by voice.
      </p>
      <form className="reminder-form" onSubmit={add} aria-labelledby="reminder-new">
        <h2 id="reminder-new">New reminder</h2>
        <label>
          What to remind you of
          <input name="text" required maxLength={MAX_TEXT} autoComplete="off" />
        </label>
        <div className="reminder-when">
          <label>
            When
            <input name="due" type="datetime-local" required aria-describedby="reminder-zone" />
          </label>
          <label>
            Repeat
            <select name="repeat" defaultValue="none">
              {REPEATS.map((repeat) => (
                <option key={repeat.id} value={repeat.id}>
                  {repeat.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <p id="reminder-zone" className="hint">
          In your time zone, {zone} (Settings).
        </p>
        <button type="submit" className="primary" disabled={busy}>
          Add reminder
        </button>
        <NoteLine note={formNote} />
      </form>
      <NotificationPrompt wanted={addedOne || reminders.length > 0} />
      <section className="panel" aria-labelledby="reminders-waiting">
        <h2 id="reminders-waiting" ref={heading} tabIndex={-1}>
          Waiting
        </h2>
        <NoteLine note={listNote} />
        <NoteLine note={loadError ? { kind: "error", text: loadError } : null} />
        {listed === null ? (
          !loadError && <p className="hint">Loading…</p>
        ) : reminders.length === 0 ? (
          <p className="empty">Nothing waiting.</p>
        ) : (
          <ul className="items" aria-labelledby="reminders-waiting">
            {reminders.map((reminder) => (
              <li key={reminder.id}>
                <span>
                  {nameOf(reminder)}
                  <small className="when">
                    {reminder.kind === "timer" ? (
                      <>
                        <time dateTime={reminder.due_at} role="timer">
                          {countdown(secondsLeft(reminder, listed.fetchedAt, now))}
                        </time>{" "}
                        left
                      </>
                    ) : (
                      <time dateTime={reminder.due_at}>{formatWhen(reminder.due_at, zone, now)}</time>
                    )}
                    {reminder.recurrence && ` · ${recurrenceLabel(reminder.recurrence)}`}
                  </small>
                </span>
                <button type="button" className="quiet" onClick={() => void cancel(reminder)} aria-label={`Cancel ${nameOf(reminder)}`}>
                  Cancel
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}
