import { type FormEvent, useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { AdminUser, HomeEntity, HomePermissions } from "../api/types";
import {
  areaOptions,
  bodyOf,
  canUnlock,
  type Choice,
  domainOptions,
  type Draft,
  draftOf,
  messageOf,
  type Option,
  optionsWithSaved,
  permissionSummary,
  sameDraft,
  setEverything,
  toggle,
} from "./model";

const permissionsPath = (person: AdminUser) => `/api/admin/users/${person.id}/home-permissions`;

/** Per person: the areas and kinds of device Butler may control for them. */
export function PermissionsPanel({ entities }: { entities: HomeEntity[] | null }) {
  const [people, setPeople] = useState<AdminUser[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const areas = useMemo(() => areaOptions(entities ?? []), [entities]);
  const domains = useMemo(() => domainOptions(entities ?? []), [entities]);

  useEffect(() => {
    api
      .json<AdminUser[]>("/api/admin/users")
      .then((found) => setPeople([...found].sort((a, b) => a.display_name.localeCompare(b.display_name))))
      .catch((error: unknown) => setProblem(messageOf(error)));
  }, []);

  return (
    <section className="panel" aria-labelledby="home-people">
      <h2 id="home-people">People's permissions</h2>
      <p className="hint">
        What Butler may control for each person, among the devices it may use. Leave out Locks and the person cannot
        lock or unlock doors.
      </p>
      {entities === null && <p className="hint">Connect Home Assistant to choose among its areas and devices.</p>}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {people?.map((person) => (
        <PersonPermissions key={person.id} person={person} areas={areas} domains={domains} />
      ))}
    </section>
  );
}

function PersonPermissions({ person, areas, domains }: { person: AdminUser; areas: Option[]; domains: Option[] }) {
  const [saved, setSaved] = useState<Draft | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ kind: "saved" | "error"; text: string } | null>(null);
  const name = person.display_name;
  const id = `home-person-${person.id}`;

  useEffect(() => {
    api
      .json<HomePermissions>(permissionsPath(person))
      .then((found) => {
        setSaved(draftOf(found));
        setDraft(draftOf(found));
      })
      .catch((error: unknown) => setNote({ kind: "error", text: messageOf(error) }));
  }, [person]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!draft) return;
    setBusy(true);
    setNote(null);
    try {
      const answer = await api.json<HomePermissions>(permissionsPath(person), {
        method: "PUT",
        body: JSON.stringify(bodyOf(draft)),
      });
      setSaved(draftOf(answer));
      setDraft(draftOf(answer));
      setNote({ kind: "saved", text: `Saved ${name}'s permissions.` });
    } catch (error) {
      setNote({ kind: "error", text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const changed = draft !== null && saved !== null && !sameDraft(draft, saved);
  return (
    <section className="person" aria-labelledby={id}>
      <h3 id={id}>
        {name} <small className="tag">{person.role === "admin" ? "admin" : "member"}</small>
      </h3>
      {draft === null ? (
        !note && <p className="hint">Loading…</p>
      ) : (
        <form onSubmit={save}>
          <p className="summary" aria-live="polite">
            <strong>{changed ? "If saved: " : "Now: "}</strong>
            {permissionSummary(draft, areas, domains)}
          </p>
          <ChoiceFields
            name={`${id}-areas`}
            legend="Areas"
            every="Every area"
            only="Only these areas"
            options={areas}
            choice={draft.areas}
            onChange={(areas) => setDraft({ ...draft, areas })}
          />
          <ChoiceFields
            name={`${id}-domains`}
            legend="Kinds of device"
            every="Every kind"
            only="Only these kinds"
            options={domains}
            choice={draft.domains}
            onChange={(domains) => setDraft({ ...draft, domains })}
            explain={(option) =>
              option.id === "lock"
                ? canUnlock(draft)
                  ? `${name} can lock and unlock doors`
                  : `Left out: ${name} cannot lock or unlock doors`
                : null
            }
          />
          <button type="submit" className="primary" disabled={busy || !changed}>
            Save<span className="visually-hidden"> {name}'s permissions</span>
          </button>
        </form>
      )}
      {note && (
        <p className={note.kind === "error" ? "error" : "success"} role={note.kind === "error" ? "alert" : "status"}>
          {note.text}
        </p>
      )}
    </section>
  );
}

function ChoiceFields({
  name,
  legend,
  every,
  only,
  options,
  choice,
  onChange,
  explain = () => null,
}: {
  name: string;
  legend: string;
  every: string;
  only: string;
  options: Option[];
  choice: Choice;
  onChange: (choice: Choice) => void;
  explain?: (option: Option) => string | null;
}) {
  const shown = optionsWithSaved(options, choice);
  return (
    <fieldset className="choice">
      <legend>{legend}</legend>
      <label className="inline">
        <input
          type="radio"
          name={name}
          checked={choice.everything}
          onChange={() => onChange(setEverything(choice, true, options))}
        />
        {every}
      </label>
      <label className="inline">
        <input
          type="radio"
          name={name}
          checked={!choice.everything}
          onChange={() => onChange(setEverything(choice, false, options))}
        />
        {only}
      </label>
      {!choice.everything && (
        <div className="checks" role="group" aria-label={only}>
          {shown.length === 0 && <p className="hint">Home Assistant has listed none yet.</p>}
          {shown.map((option) => {
            const why = explain(option);
            const whyId = `${name}-${option.id}-why`;
            return (
              <div key={option.id} className="check">
                <label className="inline">
                  <input
                    type="checkbox"
                    checked={choice.chosen.has(option.id)}
                    onChange={(e) => onChange(toggle(choice, option.id, e.target.checked))}
                    aria-describedby={why ? whyId : undefined}
                  />
                  <span>
                    {option.label} <small className="id">{option.id}</small>
                  </span>
                </label>
                {why && (
                  <small id={whyId} className={choice.chosen.has(option.id) ? "why" : "why warning"}>
                    {!choice.chosen.has(option.id) && <span aria-hidden="true">⚠ </span>}
                    {why}
                  </small>
                )}
              </div>
            );
          })}
        </div>
      )}
    </fieldset>
  );
}
