import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api } from "../api/client";
import type { SignInRules, User } from "../api/types";
import { useSecondsLeft, waitMessage } from "./countdown";

type Mode = "login" | "register" | "reset";

const USERNAME_HINT = "3 to 32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.";

export function AuthView({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const params = new URLSearchParams(window.location.search);
  const [mode, setMode] = useState<Mode>(params.has("reset") ? "reset" : params.has("invite") ? "register" : "login");
  const [rules, setRules] = useState<SignInRules | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // After a 429: when signing in may be tried again (the button waits until then).
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const wait = useSecondsLeft(retryAt);

  // A fresh install has nobody to sign in: it opens on creating the first account.
  useEffect(() => {
    api
      .json<SignInRules>("/api/auth/rules")
      .then((found) => {
        setRules(found);
        if (!found.has_accounts) setMode((current) => (current === "reset" ? current : "register"));
      })
      .catch(() => {}); // the form works without them; the server states its rules on submit
  }, []);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => String(form.get(name) ?? "").trim();
    setBusy(true);
    setError(null);
    setRetryAt(null);
    try {
      const password = String(form.get("password") ?? "");
      const user =
        mode === "reset"
          ? await api.resetPassword(params.get("reset") ?? "", password)
          : mode === "login"
            ? await api.login(field("username"), password)
            : await api.register({
              code: field("code"),
              username: field("username"),
              display_name: field("display_name") || field("username"),
                password,
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
  const registering = mode === "register";
  const resetting = mode === "reset";
  const choosing = registering || resetting; // a new password: its rule is shown
  const minLength = rules?.password_min_length ?? 8;
  return (
    <main className="auth">
      <h1 className="brand">Butler</h1>
      {rules && !rules.has_accounts && (
        <p className="note" role="note">
          Nobody has an account yet. The first one is the household's admin: its invite code was printed where
          Butler was started.
        </p>
      )}
      {resetting && <h2>Choose a new password</h2>}
      <div className="tabs" role="tablist" aria-label="Sign in or create an account" hidden={resetting}>
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
      <form onSubmit={submit} aria-label={registering ? "Create account" : resetting ? "Choose a new password" : "Sign in"}>
        {registering && (
          <label>
            Invite code
            <input name="code" required autoComplete="off" defaultValue={invite} />
          </label>
        )}
        <label hidden={resetting}>
          Username
          <input
            disabled={resetting}
            name="username"
            required
            autoComplete="username"
            autoCapitalize="none"
            aria-describedby={registering ? "username-rule" : undefined}
            {...(registering ? { minLength: 3, maxLength: 32, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{2,31}" } : {})}
          />
          {registering && (
            <small id="username-rule" className="hint">
              {USERNAME_HINT}
            </small>
          )}
        </label>
        {registering && (
          <label>
            Your name
            <input name="display_name" autoComplete="name" />
          </label>
        )}
        <label>
          {resetting ? "New password" : "Password"}
          <input
            name="password"
            type="password"
            required
            minLength={choosing ? minLength : undefined}
            aria-describedby={choosing ? "password-rule" : undefined}
            autoComplete={choosing ? "new-password" : "current-password"}
          />
          {choosing && (
            <small id="password-rule" className="hint">
              At least {minLength} characters. A few words you will remember make a good one.
            </small>
          )}
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
          {registering ? "Create account" : resetting ? "Set password and sign in" : "Sign in"}
        </button>
      </form>
      {registering && (
        <p className="hint">
          Ask the household's admin for an invite code (they make one on the Household page, or with{" "}
          <code>butler invite</code>).
        </p>
      )}
    </main>
  );
}
