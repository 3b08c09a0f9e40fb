import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { Fact, FactPage, ForgetResult, User } from "../api/types";

const PAGE = 30;
/** How long "Forgotten … Undo" is offered before the memory is really deleted. */
export const UNDO_MS = 8000;

// The categories the learning model files facts under (memory/learning.py).
const CATEGORIES = {
  general: "General",
  person: "People",
  preference: "Likes and dislikes",
  health: "Health",
  home: "Home",
  schedule: "Routines and plans",
  work: "Work",
} as const;

function CategoryChoice({ name, value, label }: { name: string; value: string; label: string }) {
  const known = value in CATEGORIES;
  return (
    <label className="category">
      <span className="visually-hidden">{label}</span>
      <select name={name} defaultValue={value}>
        {!known && <option value={value}>{value}</option>}
        {Object.entries(CATEGORIES).map(([id, text]) => (
          <option key={id} value={id}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

function FactRow({
  fact,
  onForget,
  onSaved,
}: {
  fact: Fact;
  onForget: (fact: Fact) => void;
  onSaved: (fact: Fact) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = { fact: String(form.get("fact") ?? "").trim(), category: String(form.get("category")) };
    try {
      onSaved(await api.json<Fact>(`/api/memory/facts/${fact.id}`, { method: "PATCH", body: JSON.stringify(body) }));
      setEditing(false);
      setError(null);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };
  if (editing) {
    return (
      <li>
        <form className="fact-edit" onSubmit={save} aria-label={`Edit: ${fact.fact}`}>
          <label>
            <span className="visually-hidden">Memory</span>
            <input name="fact" defaultValue={fact.fact} maxLength={500} required />
          </label>
          <CategoryChoice name="category" value={fact.category} label="Category" />
          <button type="submit" className="primary">
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
        </form>
      </li>
    );
  }
  return (
    <li>
      <span>
        {fact.fact}
        <small className="tag">
          {CATEGORIES[fact.category as keyof typeof CATEGORIES] ?? fact.category}
          {fact.source === "learned" ? " · learned from a conversation" : ""}
        </small>
      </span>
      <span className="fact-actions">
        <button type="button" className="quiet" onClick={() => setEditing(true)} aria-label={`Edit: ${fact.fact}`}>
          Edit
        </button>
        <button type="button" className="quiet" onClick={() => onForget(fact)} aria-label={`Forget: ${fact.fact}`}>
          Forget
        </button>
      </span>
    </li>
  );
}

export function MemoryView({ user }: { user: User }) {
  const [facts, setFacts] = useState<Fact[]>([]);
  const [nextOffset, setNextOffset] = useState<number | null>(null);
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const [confirmForget, setConfirmForget] = useState(false);
  // Forgotten but not yet deleted: shown with Undo until the timer deletes it for real.
  const [pending, setPending] = useState<Fact | null>(null);
  const pendingTimer = useRef<number | null>(null);
  const butlerName = user.soul.butler_name;

  const load = useCallback(async (search: string, offset: number) => {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (search.trim()) params.set("query", search.trim());
    try {
      const page = await api.json<FactPage>(`/api/memory/facts?${params}`);
      setFacts((current) => (offset === 0 ? page.facts : [...current, ...page.facts]));
      setNextOffset(page.next_offset ?? null);
    } catch (error) {
      setStatus({ kind: "error", text: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  useEffect(() => {
    void load("", 0);
  }, [load]);

  const search = (event: FormEvent) => {
    event.preventDefault();
    setStatus(null);
    void load(query, 0);
  };

  const add = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const text = String(new FormData(form).get("fact") ?? "").trim();
    if (!text) return;
    try {
      const category = String(new FormData(form).get("category") ?? "general");
      await api.json<Fact>("/api/memory/facts", { method: "POST", body: JSON.stringify({ fact: text, category }) });
      form.reset();
      setQuery("");
      setStatus({ kind: "info", text: `${butlerName} will remember that.` });
      await load("", 0);
    } catch (error) {
      setStatus({ kind: "error", text: error instanceof Error ? error.message : String(error) });
    }
  };

  const deleteNow = useCallback(async (fact: Fact) => {
    try {
      // keepalive: sent even when the page is closing (see the pagehide listener below).
      await api.json<void>(`/api/memory/facts/${fact.id}`, { method: "DELETE", keepalive: true });
    } catch (error) {
      setFacts((current) => [fact, ...current]); // it was not forgotten after all
      setStatus({ kind: "error", text: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  const pendingRef = useRef<Fact | null>(null);
  pendingRef.current = pending;
  const settlePending = useCallback(() => {
    if (pendingTimer.current !== null) window.clearTimeout(pendingTimer.current);
    pendingTimer.current = null;
    const fact = pendingRef.current;
    if (fact) void deleteNow(fact);
    setPending(null);
  }, [deleteNow]);

  // Leaving the screen or closing the page keeps the promise: a memory shown as
  // forgotten is deleted.
  useEffect(() => {
    window.addEventListener("pagehide", settlePending);
    return () => {
      window.removeEventListener("pagehide", settlePending);
      settlePending();
    };
  }, [settlePending]);

  const remove = (fact: Fact) => {
    settlePending(); // one undo at a time: an earlier one is final now
    setFacts((current) => current.filter((f) => f.id !== fact.id));
    setPending(fact);
    setStatus(null);
    pendingTimer.current = window.setTimeout(settlePending, UNDO_MS);
  };

  const undo = () => {
    if (pendingTimer.current !== null) window.clearTimeout(pendingTimer.current);
    pendingTimer.current = null;
    const fact = pending;
    setPending(null);
    if (fact) setFacts((current) => [fact, ...current.filter((f) => f.id !== fact.id)]);
  };

  const forgetEverything = async () => {
    settlePending();
    try {
      const result = await api.json<ForgetResult>("/api/memory", { method: "DELETE" });
      setFacts([]);
      setNextOffset(null);
      setConfirmForget(false);
      const count = result.deleted["user_facts"] ?? 0;
      setStatus({ kind: "info", text: `Everything is forgotten (${count} facts and all history).` });
    } catch (error) {
      setStatus({ kind: "error", text: error instanceof Error ? error.message : String(error) });
    }
  };

  return (
    <section className="memory" aria-label="Memory">
      <p className="hint">
        What {butlerName} remembers about you, from what you said or added here. Only you can see these.
      </p>
      <form className="row" onSubmit={search} role="search">
        <label htmlFor="memory-search" className="visually-hidden">
          Search memories
        </label>
        <input
          id="memory-search"
          type="search"
          placeholder="Search memories"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <button type="submit">Search</button>
      </form>
      <form className="row" onSubmit={add}>
        <label htmlFor="memory-new" className="visually-hidden">
          Something to remember
        </label>
        <input id="memory-new" name="fact" maxLength={500} placeholder="Something to remember" />
        <CategoryChoice name="category" value="general" label="Category of the new memory" />
        <button type="submit" className="primary">
          Add
        </button>
      </form>
      {status && (
        <p className={status.kind === "error" ? "error" : "success"} role={status.kind === "error" ? "alert" : "status"}>
          {status.text}
        </p>
      )}
      {pending && (
        <p className="success undo" role="status">
          Forgotten: {pending.fact}{" "}
          <button type="button" onClick={undo}>
            Undo
          </button>
        </p>
      )}
      {facts.length === 0 ? (
        <p className="empty">{query.trim() ? "Nothing matches." : "Nothing remembered yet."}</p>
      ) : (
        <ul className="facts" aria-label="Memories">
          {facts.map((fact) => (
            <FactRow
              key={fact.id}
              fact={fact}
              onForget={remove}
              onSaved={(saved) => setFacts((current) => current.map((f) => (f.id === saved.id ? saved : f)))}
            />
          ))}
        </ul>
      )}
      {nextOffset !== null && (
        <button type="button" className="quiet" onClick={() => void load(query, nextOffset)}>
          Show more
        </button>
      )}
      <div className="danger-zone">
        {confirmForget ? (
          <div className="confirm" role="group" aria-label="Confirm forgetting everything">
            <span>Delete every memory and all conversation history? This cannot be undone.</span>
            <button type="button" className="danger" onClick={() => void forgetEverything()}>
              Forget everything
            </button>
            <button type="button" onClick={() => setConfirmForget(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" onClick={() => setConfirmForget(true)}>
            Forget everything…
          </button>
        )}
      </div>
    </section>
  );
}
