import { useCallback, useEffect, useRef, useState } from "react";
import { messageOf } from "./words";

export type Polled<T> = {
  /** The latest answer; null until the first one. */
  value: T | null;
  /** Why the latest load failed; null once one succeeds. */
  error: string | null;
  /** Load now (after a change the page made). */
  reload: () => Promise<void>;
  /** Change the value shown until the next load (an item just removed, say). */
  update: (change: (value: T) => T) => void;
};

/**
 * What `fetch` answers, kept fresh while the page is open: loaded at once, again every
 * `everyMs` while the page is visible, and when it becomes visible again. Loads can
 * overlap (a refresh while an action reloads): only the latest one is shown. `fetch`
 * must be the same function from one render to the next (a module's own, say): a new
 * one starts again.
 */
export function usePolled<T>(fetch: () => Promise<T>, everyMs: number): Polled<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latestLoad = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++latestLoad.current;
    try {
      const found = await fetch();
      if (mine !== latestLoad.current) return;
      setValue(found);
      setError(null);
    } catch (failure) {
      if (mine === latestLoad.current) setError(messageOf(failure));
    }
  }, [fetch]);

  useEffect(() => {
    void reload();
    const refresh = () => {
      if (document.visibilityState === "visible") void reload();
    };
    const timer = window.setInterval(refresh, everyMs);
    document.addEventListener("visibilitychange", refresh);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", refresh);
    };
  }, [reload, everyMs]);

  const update = useCallback((change: (current: T) => T) => {
    setValue((current) => (current === null ? current : change(current)));
  }, []);

  return { value, error, reload, update };
}
