import { useSyncExternalStore } from "react";

export const SCREENS = ["chat", "voice", "reminders", "memory", "home", "tools", "household", "latency", "settings"] as const;
export type Screen = (typeof SCREENS)[number];

function current(): Screen {
  const name = window.location.hash.replace(/^#\/?/, "");
  return (SCREENS as readonly string[]).includes(name) ? (name as Screen) : "chat";
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

/** The screen named in the URL's hash, so that a reload stays where it was. */
export function useHashRoute(): Screen {
  return useSyncExternalStore(subscribe, current);
}
