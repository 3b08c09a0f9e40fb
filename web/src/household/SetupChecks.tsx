import { useCallback, useEffect, useState } from "react";
import { api } from "../api/client";
import type { components } from "../api/schema";
import { messageOf } from "../app/words";

type Check = components["schemas"]["SetupCheck"];

const NAMES: Record<string, string> = { model: "Language model", voice: "Voice", home: "Home Assistant" };

/** Is everything working? The model, voice and Home Assistant, with what to fix. */
export function SetupChecks() {
  const [checks, setChecks] = useState<Check[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = useCallback(async () => {
    setBusy(true);
    try {
      setChecks(await api.json<Check[]>("/api/admin/checks"));
      setError(null);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }, []);
  useEffect(() => void run(), [run]);

  return (
    <section className="checks" aria-label="Is everything working?" aria-busy={busy}>
      <h2>Is everything working?</h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {checks === null && !error && <p className="hint">Checking…</p>}
      {checks && (
        <ul>
          {checks.map((check) => (
            <li key={check.name} className={check.ok ? "ok" : "failing"}>
              <strong>
                {check.ok ? "✓" : "✗"} {NAMES[check.name] ?? check.name}: {check.ok ? "working" : "not working"}
              </strong>
              <span>{check.detail}</span>
              {check.fix && <span className="fix">To fix: {check.fix}</span>}
            </li>
          ))}
        </ul>
      )}
      <button type="button" onClick={() => void run()} disabled={busy}>
        Check again
      </button>
    </section>
  );
}
