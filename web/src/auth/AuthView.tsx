import { type FormEvent, useState } from "react";
import { ApiError, api } from "../api/client";
import type { User } from "../api/types";
import { useSecondsLeft, waitMessage } from "./countdown";

type Mode = "login" | "register";

export function AuthView({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [mode, setMode] = useState<Mode>(() =>
    new URLSearchParams(window.location.search).has("invite") ? "register" : "login",
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // After a 429: when signing in may be tried again (the button waits until then).
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const wait = useSecondsLeft(retryAt);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => String(form.get(name) ?? "").trim();
    setBusy(true);
    setError(null);
    setRetryAt(null);
    try {
      const user =
        mode === "login"
          ? await api.login(field("username"), String(form.get("password") ?? ""))
          : await api.register({
              code: field("code"),
              username: field("username"),
              display_name: field("display_name") || field("username"),
              password: String(form.get("password") ?? ""),
            });
      // The invite is spent: keep it out of the address bar, history and the next sign-in.
      if (window.location.search) window.history.replaceState(null, "", window.location.pathname);
      onSignedIn(user);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 429 && caught.retryAfterSeconds) {
        setRetryAt(Date.now() + caught.retryAfterSeconds * 1000);
      } else {
        setError(caught instanceof Error ? caught.message : String(caught));
      }
    } finally {
      setBusy(false);
    }
  };

  const invite = new URLSearchParams(window.location.search).get("invite") ?? "";
  return (
    <main className="auth">
      <h1 className="brand">Butler</h1>
      <div className="tabs" role="tablist" aria-label="Sign in or create an account">
        {(["login", "register"] as const).map((m) => (
          <button
            key={m}
            type="button"
            role="tab"
            aria-selected={mode === m}
            onClick={() => {
              setMode(m);
              setError(null);
              setRetryAt(null);
            }}
          >
            {m === "login" ? "Sign in" : "Create account"}
          </button>
        ))}
      </div>
      <form onSubmit={submit} aria-label={mode === "login" ? "Sign in" : "Create account"}>
        {mode === "register" && (
          <label>
            Invite code
            <input name="code" required autoComplete="off" defaultValue={invite} />
          </label>
        )}
        <label>
          Username
          <input name="username" required autoComplete="username" autoCapitalize="none" />
        </label>
        {mode === "register" && (
          <label>
            Your name
            <input name="display_name" autoComplete="name" />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            required
            autoComplete={mode === "login" ? "current-password" : "new-password"}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {retryAt !== null && (
          <p className={wait > 0 ? "error" : "hint"} role="status">
            {waitMessage(wait)}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || wait > 0}>
          {mode === "login" ? "Sign in" : "Create account"}
        </button>
      </form>
      {mode === "register" && (
        <p className="hint">Ask the household's admin for an invite code (`butler invite`).</p>
      )}
    </main>
  );
}
