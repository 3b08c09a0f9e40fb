import { type FormEvent, useRef, useState } from "react";
import { api, ApiError } from "../api/client";
import type { McpServer } from "../api/types";
import { type Note, NoteLine } from "../app/NoteLine";
import { messageOf } from "../app/words";
import {
  ADDRESS_EXAMPLE,
  type AddProblems,
  bodyOf,
  formOf,
  MAX_ADDRESS,
  MAX_NAME,
  PEOPLE,
  type People,
  problemsOf,
  replacesServer,
} from "./model";

const NO_PROBLEMS: AddProblems = { name: null, url: null };

/** A streamable-HTTP MCP server, added by name and address (stdio servers are commands
 * this machine runs: only Butler's settings may name those). */
export function AddServerForm({ servers, onAdded }: { servers: McpServer[]; onAdded: () => Promise<void> }) {
  const [problems, setProblems] = useState<AddProblems>(NO_PROBLEMS);
  const [note, setNote] = useState<Note>(null);
  const [busy, setBusy] = useState(false);
  // The name is held here (a controlled input): React would not see the form's reset().
  const [typedName, setTypedName] = useState("");
  const nameInput = useRef<HTMLInputElement>(null);
  const urlInput = useRef<HTMLInputElement>(null);

  const add = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = formOf(new FormData(formElement));
    const found = problemsOf(form, servers);
    setProblems(found);
    setNote(null);
    // Focus goes to the first field with a problem, whose description then reads it out.
    if (found.name) return nameInput.current?.focus();
    if (found.url) return urlInput.current?.focus();
    const replacing = replacesServer(form.name, servers);
    setBusy(true);
    try {
      await api.json(`/api/admin/mcp/servers/${form.name}`, { method: "PUT", body: JSON.stringify(bodyOf(form)) });
      formElement.reset();
      setTypedName("");
      setNote({ kind: "info", text: `${replacing ? "Changed" : "Added"} ${form.name}: its state is in the list.` });
      await onAdded();
    } catch (error) {
      // 409: a name from Butler's settings, which the list may not have shown yet.
      if (error instanceof ApiError && error.status === 409) {
        setProblems({ ...NO_PROBLEMS, name: error.message });
        nameInput.current?.focus();
      } else {
        setNote({ kind: "error", text: messageOf(error) });
      }
    } finally {
      setBusy(false);
    }
  };

  // A field's message goes once it is changed: the next Add checks it again.
  const clearProblem = (field: keyof AddProblems) =>
    setProblems((current) => (current[field] ? { ...current, [field]: null } : current));
  // Said before Add, not after: adding under a name in use replaces that server.
  const replaces = replacesServer(typedName.trim(), servers) ? typedName.trim() : null;
  const nameDescription = ["tools-name-hint", replaces && "tools-name-replaces", problems.name && "tools-name-problem"];

  return (
    <form className="server-form" onSubmit={add} noValidate aria-labelledby="tools-add">
      <h2 id="tools-add">Add an HTTP server</h2>
      <label>
        Name
        <input
          ref={nameInput}
          name="name"
          required
          maxLength={MAX_NAME}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          value={typedName}
          onChange={(e) => {
            setTypedName(e.target.value);
            clearProblem("name");
          }}
          aria-invalid={problems.name ? true : undefined}
          aria-describedby={nameDescription.filter(Boolean).join(" ")}
        />
      </label>
      <p id="tools-name-hint" className="hint">
        Lower-case letters, digits and _, starting with a letter: the model sees its tools as mcp_name__tool.
      </p>
      {replaces && (
        <p id="tools-name-replaces" className="hint">
          “{replaces}” is already added: adding it again replaces its address and who may use it.
        </p>
      )}
      {problems.name && (
        <p id="tools-name-problem" className="error">
          {problems.name}
        </p>
      )}
      <label>
        Address
        <input
          ref={urlInput}
          name="url"
          type="url"
          required
          maxLength={MAX_ADDRESS}
          placeholder={ADDRESS_EXAMPLE}
          autoComplete="off"
          spellCheck={false}
          onChange={() => clearProblem("url")}
          aria-invalid={problems.url ? true : undefined}
          aria-describedby={problems.url ? "tools-url-problem" : undefined}
        />
      </label>
      {problems.url && (
        <p id="tools-url-problem" className="error">
          {problems.url}
        </p>
      )}
      <fieldset className="choice" aria-describedby="tools-rights">
        <legend>Who may use its tools</legend>
        {(Object.entries(PEOPLE) as [People, string][]).map(([people, label]) => (
          <label key={people} className="inline">
            <input type="radio" name="people" value={people} defaultChecked={people === "admins"} />
            {label}
          </label>
        ))}
        <p id="tools-rights" className="hint">
          Its tools act with Butler's rights, not the person's: whoever may use them can do anything the server lets
          Butler do.
        </p>
      </fieldset>
      <button type="submit" className="primary" disabled={busy}>
        Add server
      </button>
      <NoteLine note={note} />
    </form>
  );
}
