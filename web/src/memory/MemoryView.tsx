import { type FormEvent, useCallback, useEffect, useState } from "react";
import { api } from "../api/client";
import type { Fact, FactPage, ForgetResult, User } from "../api/types";

const PAGE = 30;

export function MemoryView({ user }: { user: User }) {
  const [facts, setFacts] = useState<Fact[]>([]);
  const [nextOffset, setNextOffset] = useState<number | null>(null);
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const [confirmForget, setConfirmForget] = useState(false);
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
      await api.json<Fact>("/api/memory/facts", { method: "POST", body: JSON.stringify({ fact: text }) });
      form.reset();
      setQuery("");
      setStatus({ kind: "info", text: `${butlerName} will remember that.` });
      await load("", 0);
    } catch (error) {
      setStatus({ kind: "error", text: error instanceof Error ? error.message : String(error) });
    }
  };

  const remove = async (fact: Fact) => {
    try {
      await api.json<void>(`/api/memory/facts/${fact.id}`, { method: "DELETE" });
      setFacts((current) => current.filter((f) => f.id !== fact.id));
      setStatus({ kind: "info", text: `Forgotten: ${fact.fact}` });
    } catch (error) {
      setStatus({ kind: "error", text: error instanceof Error ? error.message : String(error) });
    }
  };

  const forgetEverything = async () => {
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
        <button type="submit" className="primary">
          Add
        </button>
      </form>
      {status && (
        <p className={status.kind === "error" ? "error" : "success"} role={status.kind === "error" ? "alert" : "status"}>
          {status.text}
        </p>
      )}
      {facts.length === 0 ? (
        <p className="empty">{query.trim() ? "Nothing matches." : "Nothing remembered yet."}</p>
      ) : (
        <ul className="facts" aria-label="Memories">
          {facts.map((fact) => (
            <li key={fact.id}>
              <span>
                {fact.fact}
                <small className="tag">
                  {fact.category}
                  {fact.source === "learned" ? " · learned from a conversation" : ""}
                </small>
              </span>
              <button type="button" className="quiet" onClick={() => void remove(fact)} aria-label={`Forget: ${fact.fact}`}>
                Forget
              </button>
            </li>
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
