import { useEffect, useState } from "react";

/** Whole seconds from `now` until `until` (both ms since the epoch), never below 0. */
export function secondsLeft(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}

export function waitMessage(seconds: number): string {
  if (seconds <= 0) return "You can try again now.";
  const unit = seconds === 1 ? "second" : "seconds";
  return `Too many attempts. You can try again in ${seconds} ${unit}.`;
}

/** Seconds left until `until`, re-rendered every second while some remain. */
export function useSecondsLeft(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null) return;
    setNow(Date.now());
    const timer = window.setInterval(() => {
      const current = Date.now();
      setNow(current);
      if (current >= until) window.clearInterval(timer);
    }, 1000);
    return () => window.clearInterval(timer);
  }, [until]);
  return until === null ? 0 : secondsLeft(until, now);
}
