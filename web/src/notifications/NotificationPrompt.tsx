import { useState } from "react";
import { messageOf } from "../app/words";
import { enableNotifications, pushSupported } from "./push";

type Result = { kind: "on" | "error"; text: string } | null;

/**
 * The offer to notify this browser when reminders are due. Shown only once the person
 * has something to be reminded of (`wanted`): a permission prompt on a first visit is
 * what people learn to refuse.
 */
export function NotificationPrompt({ wanted }: { wanted: boolean }) {
  const [supported] = useState(pushSupported);
  const [permission, setPermission] = useState(() => (supported ? Notification.permission : "denied"));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);

  const enable = async () => {
    setBusy(true);
    setResult(null);
    try {
      const given = await enableNotifications();
      setPermission(given);
      if (given === "granted") setResult({ kind: "on", text: "Notifications are on for this browser." });
    } catch (error) {
      setPermission(Notification.permission);
      setResult({ kind: "error", text: `Couldn't turn on notifications: ${messageOf(error)}` });
    } finally {
      setBusy(false);
    }
  };

  const note = result && (
    <p className={result.kind === "error" ? "error" : "success"} role={result.kind === "error" ? "alert" : "status"}>
      {result.text}
    </p>
  );
  if (!wanted) return null;
  if (!supported) {
    return (
      <p className="hint notify">
        This browser can't show Butler's notifications from this address (web push needs HTTPS).
      </p>
    );
  }
  if (permission === "denied") {
    return <p className="hint notify">Notifications are blocked for Butler in this browser's site settings.</p>;
  }
  if (permission === "granted") return note;
  return (
    <div className="notify">
      <button type="button" onClick={() => void enable()} disabled={busy}>
        Get notified when reminders are due
      </button>
      {note}
    </div>
  );
}
