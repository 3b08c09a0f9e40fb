import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { McpServer } from "../api/types";
import { type Note, NoteLine } from "../app/NoteLine";
import { messageOf } from "../app/words";
import { PEOPLE, SOURCES, stateSentence, toolsSentence, TRANSPORTS } from "./model";

/** Every server Butler uses: its state, what it is, who may use it, and its tools. */
export function ServerList({
  servers,
  loadError,
  onChanged,
}: {
  servers: McpServer[] | null;
  loadError: string | null;
  onChanged: () => Promise<void>;
}) {
  const [note, setNote] = useState<Note>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  const remove = async (name: string) => {
    setBusy(true);
    try {
      await api.json<void>(`/api/admin/mcp/servers/${name}`, { method: "DELETE" });
      setNote({ kind: "info", text: `Removed ${name}. Butler no longer offers its tools.` });
      setConfirming(null);
      heading.current?.focus(); // its buttons are gone: keep the keyboard in the list
    } catch (error) {
      setNote({ kind: "error", text: `Couldn't remove ${name}: ${messageOf(error)}` });
    } finally {
      setBusy(false);
    }
    await onChanged(); // also after a 404: someone else removed it
  };

  return (
    <section className="panel" aria-labelledby="tools-servers">
      <h2 id="tools-servers" ref={heading} tabIndex={-1}>
        MCP servers
      </h2>
      <NoteLine note={note} />
      <NoteLine note={loadError ? { kind: "error", text: loadError } : null} />
      {servers === null ? (
        !loadError && <p className="hint">Loading…</p>
      ) : servers.length === 0 ? (
        <p className="empty">No MCP servers yet: add one below, or in Butler's settings (BUTLER_MCP__SERVERS).</p>
      ) : (
        <ul className="servers" aria-labelledby="tools-servers">
          {servers.map((server) => (
            <li key={server.name}>
              <Server
                server={server}
                confirming={confirming === server.name}
                busy={busy}
                onAsk={(asking) => setConfirming(asking ? server.name : null)}
                onRemove={() => void remove(server.name)}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Server({
  server,
  confirming,
  busy,
  onAsk,
  onRemove,
}: {
  server: McpServer;
  confirming: boolean;
  busy: boolean;
  onAsk: (asking: boolean) => void;
  onRemove: () => void;
}) {
  const id = `mcp-server-${server.name}`;
  const state = stateSentence(server);
  // The confirmation takes the place of the Remove button: focus moves into it (to the
  // safe choice), and back to Remove when it is cancelled.
  const askButton = useRef<HTMLButtonElement>(null);
  const focusAsk = useRef(false);
  useEffect(() => {
    if (confirming || !focusAsk.current) return;
    focusAsk.current = false;
    askButton.current?.focus();
  }, [confirming]);
  const cancel = () => {
    focusAsk.current = true;
    onAsk(false);
  };
  return (
    <section className="server" aria-labelledby={id}>
      <h3 id={id}>{server.name}</h3>
      <p className={`link-state ${state.tone}`} role="status">
        {state.text}
      </p>
      <dl>
        <dt>Address</dt>
        <dd>
          <code>{server.address}</code>
        </dd>
        <dt>Transport</dt>
        <dd>{TRANSPORTS[server.transport]}</dd>
        <dt>Set in</dt>
        <dd>
          {SOURCES[server.source]}
          {server.source === "settings" && (
            <span className="hint"> — change or remove it there (BUTLER_MCP__SERVERS).</span>
          )}
        </dd>
        <dt>Who may use it</dt>
        <dd>{PEOPLE[server.people]}</dd>
        <dt>Tools</dt>
        <dd className="tool-names">{toolsSentence(server)}</dd>
      </dl>
      {server.source === "app" &&
        (confirming ? (
          <div className="confirm" role="group" aria-label={`Confirm removing ${server.name}`}>
            <span>Remove {server.name}? Butler stops offering its tools at once.</span>
            <button type="button" className="danger" onClick={onRemove} disabled={busy}>
              Remove
            </button>
            <button type="button" onClick={cancel} autoFocus>
              Cancel
            </button>
          </div>
        ) : (
          <div className="actions">
            <button ref={askButton} type="button" onClick={() => onAsk(true)} aria-label={`Remove ${server.name}`}>
              Remove
            </button>
          </div>
        ))}
    </section>
  );
}
