import { type FormEvent, useRef, useState } from "react";
import { api } from "../api/client";
import type { ProfilePatch, User } from "../api/types";
import { type Note, NoteLine } from "../app/NoteLine";
import { messageOf } from "../app/words";
import { MAX_PLACE, placeProblem, placeSentence } from "./homePlace";

/**
 * Where the person lives, for the weather. A form of its own: the server looks the name
 * up when it is saved, and a place it cannot find must not hold back the other settings.
 */
export function HomePlaceForm({ user, onSaved }: { user: User; onSaved: (user: User) => void }) {
  const [typed, setTyped] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<Note>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const change = async (homePlace: string, said: (saved: User) => string) => {
    const patch: ProfilePatch = { home_place: homePlace };
    setBusy(true);
    setProblem(null);
    setNote(null);
    try {
      const saved = await api.json<User>("/api/users/me", { method: "PATCH", body: JSON.stringify(patch) });
      onSaved(saved);
      setTyped("");
      setNote({ kind: "info", text: said(saved) });
    } catch (error) {
      const own = placeProblem(error);
      if (own) setProblem(own);
      else setNote({ kind: "error", text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const name = typed.trim();
    // An empty name would clear the place: that is the Clear button's job.
    if (!name) setProblem("Type the name of a town or city.");
    else void change(name, (saved) => `Saved. ${placeSentence(saved.home_place)}`);
  };

  const clear = async () => {
    await change("", () => "Cleared. Butler asks which town you mean.");
    input.current?.focus(); // the Clear button is gone
  };

  return (
    <form className="home-place" onSubmit={save} aria-labelledby="home-place-title">
      <fieldset>
        <legend id="home-place-title">Home place</legend>
        <p id="home-place-now">{placeSentence(user.home_place)}</p>
        <label>
          Town or city
          <input
            ref={input}
            name="home_place"
            required
            maxLength={MAX_PLACE}
            autoComplete="address-level2"
            value={typed}
            onChange={(e) => {
              setTyped(e.target.value);
              setProblem(null);
            }}
            aria-invalid={problem ? true : undefined}
            aria-describedby={`home-place-hint home-place-now${problem ? " home-place-problem" : ""}`}
          />
        </label>
        <p id="home-place-hint" className="hint">
          Where you live, for the weather: “what's the weather?” then means there.
        </p>
        {problem && (
          <p id="home-place-problem" className="error" role="alert">
            {problem}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Save place
          </button>
          {user.home_place && (
            <button type="button" onClick={() => void clear()} disabled={busy}>
              Clear
            </button>
          )}
        </div>
        <NoteLine note={note} />
      </fieldset>
    </form>
  );
}
