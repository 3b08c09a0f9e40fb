import { api } from "../api/client";
import type { User, WhatsAppAdminStatus } from "../api/types";
import { NoteLine } from "../app/NoteLine";
import { usePolled } from "../app/usePolled";
import { formatWhen } from "../reminders/model";
import {
  configuredSentence,
  problemTitle,
  shownNumber,
  WHATSAPP_REFRESH_MS,
  waitingSentence,
  webhookUrl,
} from "./whatsapp";

function fetchStatus(): Promise<WhatsAppAdminStatus> {
  return api.json<WhatsAppAdminStatus>("/api/admin/whatsapp");
}

/** The WhatsApp channel, for admins: set up or not, the webhook to give Meta, messages
 * waiting, and what went wrong lately. Kept fresh while the page is open. */
export function WhatsAppPanel({ user }: { user: User }) {
  const { value: status, error } = usePolled(fetchStatus, WHATSAPP_REFRESH_MS);
  const state = status ? configuredSentence(status) : null;
  return (
    <section className="panel whatsapp-admin" aria-labelledby="tools-whatsapp">
      <h2 id="tools-whatsapp">WhatsApp</h2>
      <NoteLine note={error ? { kind: "error", text: error } : null} />
      {status === null || state === null ? (
        !error && <p className="hint">Loading…</p>
      ) : (
        <>
          <p className={`link-state ${state.tone}`}>{state.text}</p>
          <dl>
            <dt>Webhook for Meta</dt>
            <dd>
              <code>{webhookUrl(window.location.origin, status.webhook_path)}</code>
              <span className="hint">
                The callback URL in the Meta app's WhatsApp configuration, with the verify token from
                BUTLER_WHATSAPP__VERIFY_TOKEN; subscribe to “messages”.
              </span>
            </dd>
            <dt>Waiting</dt>
            <dd>{waitingSentence(status.waiting)}</dd>
          </dl>
          <h3 id="tools-whatsapp-problems">Recent problems</h3>
          {status.problems.length === 0 ? (
            <p className="empty">None lately.</p>
          ) : (
            <ul className="problems" aria-labelledby="tools-whatsapp-problems">
              {status.problems.map((problem, index) => (
                <li key={`${problem.at}-${index}`}>
                  <p className="problem-head">
                    <strong>{problemTitle(problem)}</strong>
                    <span className="hint">
                      {" "}
                      <time dateTime={problem.at}>{formatWhen(problem.at, user.timezone, Date.now())}</time>
                      {", "}
                      {shownNumber(problem.phone_number)}
                    </span>
                  </p>
                  <p>{problem.detail}</p>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
