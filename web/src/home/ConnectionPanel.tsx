import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type {
  HomeConnection,
  HomeConnectionBody,
  HomeConnectionTest,
  HomeConnectionTestBody,
  HomeStatus,
} from "../api/types";
import { messageOf, statusSentence } from "./model";

const PATH = "/api/admin/home/connection";

type Note = { kind: "saved" | "error"; text: string } | null;
type Test = { kind: "busy" | "ok" | "error"; text: string } | null;

/** The link's state, and the address and token an admin may change here. */
export function ConnectionPanel({
  status,
  statusError,
  onChanged,
}: {
  status: HomeStatus | null;
  statusError: string | null;
  onChanged: () => Promise<void>;
}) {
  const [connection, setConnection] = useState<HomeConnection | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [url, setUrl] = useState("");
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<Note>(null);
  const [test, setTest] = useState<Test>(null);
  const [confirmDisconnect, setConfirmDisconnect] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  const show = useCallback((found: HomeConnection) => {
    setConnection(found);
    setUrl(found.url ?? "");
    setToken("");
  }, []);

  useEffect(() => {
    api
      .json<HomeConnection>(PATH)
      .then(show)
      .catch((error: unknown) => setLoadError(messageOf(error)));
  }, [show]);

  // The server keeps a saved token for its own address only: a new address needs one.
  const sameAddress = connection?.url != null && url.trim().replace(/\/+$/, "") === connection.url;
  const tokenKept = Boolean(connection?.token_saved) && sameAddress;
  // An empty token field: the server uses the saved token.
  const body = (): HomeConnectionBody => (token ? { url: url.trim(), token } : { url: url.trim() });

  const runTest = async () => {
    if (!form.current?.reportValidity()) return;
    setBusy(true);
    setTest({ kind: "busy", text: "Testing…" });
    try {
      const tried: HomeConnectionTestBody = body();
      const result = await api.json<HomeConnectionTest>(`${PATH}/test`, {
        method: "POST",
        body: JSON.stringify(tried),
      });
      setTest(
        result.ok
          ? { kind: "ok", text: `Connected: Home Assistant${result.version ? ` ${result.version}` : ""}` }
          : { kind: "error", text: `Couldn't connect: ${result.error ?? "Home Assistant did not answer."}` },
      );
    } catch (error) {
      setTest({ kind: "error", text: `Couldn't connect: ${messageOf(error)}` });
    } finally {
      setBusy(false);
    }
  };

  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setNote(null);
    try {
      show(await api.json<HomeConnection>(PATH, { method: "PUT", body: JSON.stringify(body()) }));
      setNote({ kind: "saved", text: "Saved." });
      await onChanged();
    } catch (error) {
      setNote({ kind: "error", text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const disconnect = async () => {
    setBusy(true);
    setNote(null);
    try {
      await api.json<void>(PATH, { method: "DELETE" });
      setConfirmDisconnect(false);
      setTest(null);
      show(await api.json<HomeConnection>(PATH));
      setNote({ kind: "saved", text: "Disconnected. Butler no longer uses Home Assistant." });
      await onChanged();
    } catch (error) {
      setNote({ kind: "error", text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const editable = connection?.editable ?? true;
  const sentence = status ? statusSentence(status, editable) : null;

  return (
    <section className="panel" aria-labelledby="home-connection">
      <h2 id="home-connection">Connection</h2>
      <p className={`link-state ${sentence?.tone ?? "waiting"}`} role="status">
        {statusError ?? sentence?.text ?? "Asking Butler's server about Home Assistant…"}
      </p>
      {loadError && (
        <p className="error" role="alert">
          {loadError}
        </p>
      )}
      {connection && !connection.editable && (
        <div className="connection-fixed">
          <label>
            Home Assistant's address
            <input readOnly value={connection.url ?? ""} aria-describedby="home-fixed-note" />
          </label>
          <p id="home-fixed-note" className="hint">
            The address and token are set in the server's configuration (BUTLER_HOME_ASSISTANT__URL and
            BUTLER_HOME_ASSISTANT__TOKEN), so they cannot be changed here.
          </p>
        </div>
      )}
      {connection?.editable && (
        <form ref={form} className="connection-form" onSubmit={save}>
          <label>
            Home Assistant's address
            <input
              name="url"
              type="url"
              required
              maxLength={500}
              placeholder="http://homeassistant.local:8123"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
            />
          </label>
          <label>
            Long-lived access token
            <input
              name="token"
              type="password"
              autoComplete="off"
              spellCheck={false}
              required={!tokenKept}
              value={token}
              onChange={(e) => setToken(e.target.value)}
              aria-describedby="home-token-hint"
            />
          </label>
          <p id="home-token-hint" className="hint">
            {tokenKept
              ? "A token is saved; leave empty to keep it."
              : connection.token_saved
                ? "A new address needs its token: the saved one is only sent to its own address."
                : "In Home Assistant: your profile, Security, Long-lived access tokens, Create token."}
          </p>
          <div className="actions">
            <button type="button" onClick={() => void runTest()} disabled={busy}>
              Test connection
            </button>
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
          </div>
          <p className={test?.kind === "ok" ? "success" : test?.kind === "error" ? "error" : "hint"} aria-live="polite">
            {test?.text}
          </p>
        </form>
      )}
      {note && (
        <p className={note.kind === "error" ? "error" : "success"} role={note.kind === "error" ? "alert" : "status"}>
          {note.text}
        </p>
      )}
      {connection?.editable && connection.source === "app" && (
        <div className="danger-zone">
          {confirmDisconnect ? (
            <div className="confirm" role="group" aria-label="Confirm disconnecting Home Assistant">
              <span>Forget the address and token? Butler stops using Home Assistant until it is connected again.</span>
              <button type="button" className="danger" onClick={() => void disconnect()} disabled={busy}>
                Disconnect
              </button>
              <button type="button" onClick={() => setConfirmDisconnect(false)}>
                Cancel
              </button>
            </div>
          ) : (
            <button type="button" onClick={() => setConfirmDisconnect(true)}>
              Disconnect…
            </button>
          )}
        </div>
      )}
    </section>
  );
}
