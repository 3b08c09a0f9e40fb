import { type FormEvent, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type {
  User,
  WhatsAppCodeBody,
  WhatsAppNumberBody,
  WhatsAppPreferences,
  WhatsAppStatus,
} from "../api/types";
import { type Note, NoteLine } from "../app/NoteLine";
import { messageOf } from "../app/words";
import {
  CODE_HINT,
  codeFailure,
  codeProblem,
  compactCode,
  compactNumber,
  MAX_NUMBER,
  NUMBER_HINT,
  numberProblem,
  type Phase,
  phaseOf,
  sendProblem,
  stateSentence,
  voiceRepliesSentence,
  waMeLink,
} from "./whatsapp";

const PATH = "/api/users/me/whatsapp";

/** Where the keyboard goes once the controls it was on are gone. */
type FocusTarget = "number" | "code" | "state" | "unlink" | null;

/**
 * The person's WhatsApp number: linked with a six-digit code Butler sends on WhatsApp,
 * then whether voice notes get a voice note back, and unlinking. A form of its own, like
 * the home place: nothing here waits for the other settings' Save.
 */
export function WhatsAppForm({ user }: { user: User }) {
  const [status, setStatus] = useState<WhatsAppStatus | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [note, setNote] = useState<Note>(null);
  const [busy, setBusy] = useState(false);
  const [number, setNumber] = useState("");
  const [numberTrouble, setNumberTrouble] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [codeTrouble, setCodeTrouble] = useState<string | null>(null);
  // "Use another number" while a code is waiting: the number field again.
  const [choosingNumber, setChoosingNumber] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [focus, setFocus] = useState<FocusTarget>(null);
  const numberInput = useRef<HTMLInputElement>(null);
  const codeInput = useRef<HTMLInputElement>(null);
  const stateLine = useRef<HTMLParagraphElement>(null);
  const unlinkButton = useRef<HTMLButtonElement>(null);
  const butler = user.soul.butler_name;

  useEffect(() => {
    api
      .json<WhatsAppStatus>(PATH)
      .then((found) => {
        setStatus(found);
        if (found.pending) setNumber(found.pending.phone_number);
      })
      .catch((error: unknown) => setLoadError(messageOf(error)));
  }, []);

  // After a render that replaced the focused control.
  useEffect(() => {
    if (!focus) return;
    const target = { number: numberInput, code: codeInput, state: stateLine, unlink: unlinkButton }[focus];
    target.current?.focus();
    setFocus(null);
  }, [focus]);

  const phase: Phase | null = status ? phaseOf(status, choosingNumber) : null;

  const sendCode = async (to: string, where: "field" | "note") => {
    const body: WhatsAppNumberBody = { phone_number: to };
    setBusy(true);
    setNote(null);
    setNumberTrouble(null);
    setCodeTrouble(null);
    try {
      const sent = await api.json<WhatsAppStatus>(PATH, { method: "POST", body: JSON.stringify(body) });
      setStatus(sent);
      setChoosingNumber(false);
      setCode("");
      const at = sent.pending?.phone_number ?? to;
      setNote({ kind: "info", text: `Sent. Look for ${butler}'s message on WhatsApp at ${at}.` });
      setFocus("code");
    } catch (error) {
      const own = sendProblem(error, status, butler);
      if (own && where === "field") {
        setNumberTrouble(own);
        setFocus("number");
      } else {
        setNote({ kind: "error", text: own ?? messageOf(error) });
      }
    } finally {
      setBusy(false);
    }
  };

  const link = async () => {
    const body: WhatsAppCodeBody = { code: compactCode(code) };
    setBusy(true);
    setNote(null);
    setCodeTrouble(null);
    try {
      const linked = await api.json<WhatsAppStatus>(`${PATH}/verify`, { method: "POST", body: JSON.stringify(body) });
      setStatus(linked);
      setCode("");
      setNote({ kind: "info", text: `Linked. Write to ${butler} on WhatsApp from ${linked.phone_number}.` });
      setFocus("state");
    } catch (error) {
      const own = codeFailure(error);
      if (own) {
        setCodeTrouble(own);
        setFocus("code");
      } else {
        setNote({ kind: "error", text: messageOf(error) });
      }
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy) return;
    if (phase === "number") {
      const problem = numberProblem(number);
      setNumberTrouble(problem);
      if (problem) numberInput.current?.focus();
      else void sendCode(compactNumber(number), "field");
    } else if (phase === "code") {
      const problem = codeProblem(code);
      setCodeTrouble(problem);
      if (problem) codeInput.current?.focus();
      else void link();
    }
  };

  const setVoiceReplies = async (on: boolean) => {
    if (!status || busy) return; // not disabled meanwhile: that would take the keyboard off it
    const body: WhatsAppPreferences = { voice_replies: on };
    setBusy(true);
    setNote(null);
    setStatus({ ...status, voice_replies: on }); // the box shows the click at once
    try {
      setStatus(await api.json<WhatsAppStatus>(PATH, { method: "PATCH", body: JSON.stringify(body) }));
      setNote({ kind: "info", text: voiceRepliesSentence(on) });
    } catch (error) {
      setNote({ kind: "error", text: `Not saved: ${messageOf(error)}` });
      // The server's own view again (on 404 the number was unlinked elsewhere).
      api.json<WhatsAppStatus>(PATH).then(setStatus, () => setStatus(status));
    } finally {
      setBusy(false);
    }
  };

  const unlink = async () => {
    const was = status?.phone_number;
    setBusy(true);
    setNote(null);
    try {
      await api.json<void>(PATH, { method: "DELETE" });
      setStatus(await api.json<WhatsAppStatus>(PATH));
      setConfirming(false);
      setNumber("");
      setNote({ kind: "info", text: `Unlinked. ${butler} no longer answers ${was ?? "that number"} on WhatsApp.` });
      setFocus("number");
    } catch (error) {
      setNote({ kind: "error", text: `Not unlinked: ${messageOf(error)}` });
    } finally {
      setBusy(false);
    }
  };

  const chat = waMeLink(status?.business_number);
  const numberDescription = ["whatsapp-number-hint", numberTrouble && "whatsapp-number-problem"];
  const codeDescription = ["whatsapp-code-hint", "whatsapp-now", codeTrouble && "whatsapp-code-problem"];

  return (
    <form className="whatsapp" onSubmit={submit} noValidate aria-labelledby="whatsapp-title">
      <fieldset>
        <legend id="whatsapp-title">WhatsApp</legend>
        {status === null || phase === null ? (
          loadError ? <NoteLine note={{ kind: "error", text: loadError }} /> : <p className="hint">Loading…</p>
        ) : (
          <>
            <p id="whatsapp-now" ref={stateLine} tabIndex={-1}>
              {stateSentence(status, phase, user.timezone)}
            </p>
            {status.business_number && (
              <p id="whatsapp-write">
                Write to {butler} at{" "}
                {chat ? (
                  <a href={chat} target="_blank" rel="noopener noreferrer">
                    {status.business_number}
                  </a>
                ) : (
                  status.business_number
                )}
              </p>
            )}

            {phase === "number" && (
              <>
                <label>
                  Your WhatsApp number
                  <input
                    ref={numberInput}
                    name="phone_number"
                    type="tel"
                    autoComplete="tel"
                    required
                    maxLength={MAX_NUMBER}
                    value={number}
                    onChange={(e) => {
                      setNumber(e.target.value);
                      setNumberTrouble(null);
                    }}
                    aria-invalid={numberTrouble ? true : undefined}
                    aria-describedby={numberDescription.filter(Boolean).join(" ")}
                  />
                </label>
                <p id="whatsapp-number-hint" className="hint">
                  {NUMBER_HINT}
                </p>
                {numberTrouble && (
                  <p id="whatsapp-number-problem" className="error" role="alert">
                    {numberTrouble}
                  </p>
                )}
                <div className="actions">
                  <button type="submit" className="primary" disabled={busy}>
                    Send code
                  </button>
                  {status.pending && (
                    <button
                      type="button"
                      onClick={() => {
                        setChoosingNumber(false);
                        setNumberTrouble(null);
                        setFocus("code");
                      }}
                      disabled={busy}
                    >
                      Back to the code
                    </button>
                  )}
                </div>
              </>
            )}

            {phase === "code" && (
              <>
                <label>
                  Six-digit code
                  <input
                    ref={codeInput}
                    name="code"
                    inputMode="numeric"
                    autoComplete="one-time-code"
                    required
                    maxLength={12}
                    value={code}
                    onChange={(e) => {
                      setCode(e.target.value);
                      setCodeTrouble(null);
                    }}
                    aria-invalid={codeTrouble ? true : undefined}
                    aria-describedby={codeDescription.filter(Boolean).join(" ")}
                  />
                </label>
                <p id="whatsapp-code-hint" className="hint">
                  {CODE_HINT}
                </p>
                {codeTrouble && (
                  <p id="whatsapp-code-problem" className="error" role="alert">
                    {codeTrouble}
                  </p>
                )}
                <div className="actions">
                  <button type="submit" className="primary" disabled={busy}>
                    Link
                  </button>
                  <button
                    type="button"
                    onClick={() => status.pending && void sendCode(status.pending.phone_number, "note")}
                    disabled={busy}
                  >
                    Send a new code
                  </button>
                  <button
                    type="button"
                    className="quiet"
                    onClick={() => {
                      setChoosingNumber(true);
                      setCodeTrouble(null);
                      setFocus("number");
                    }}
                    disabled={busy}
                  >
                    Use another number
                  </button>
                </div>
              </>
            )}

            {phase === "linked" && (
              <>
                <label className="inline">
                  <input
                    type="checkbox"
                    name="voice_replies"
                    checked={status.voice_replies}
                    onChange={(e) => void setVoiceReplies(e.target.checked)}
                  />
                  Answer my voice notes with a voice note
                </label>
                {confirming ? (
                  <div className="confirm" role="group" aria-label="Confirm unlinking">
                    <span>
                      Unlink {status.phone_number}? {butler} stops answering it on WhatsApp.
                    </span>
                    <button type="button" className="danger" onClick={() => void unlink()} disabled={busy}>
                      Unlink
                    </button>
                    <button
                      type="button"
                      onClick={() => {
                        setConfirming(false);
                        setFocus("unlink");
                      }}
                      autoFocus
                    >
                      Cancel
                    </button>
                  </div>
                ) : (
                  <div className="actions">
                    <button ref={unlinkButton} type="button" onClick={() => setConfirming(true)} disabled={busy}>
                      Unlink
                    </button>
                  </div>
                )}
              </>
            )}
          </>
        )}
        <NoteLine note={note} />
      </fieldset>
    </form>
  );
}
