import { type FormEvent, useCallback, useEffect, useMemo, useState } from "react";
import { renderSVG } from "uqr";
import { api } from "../api/client";
import type { components } from "../api/schema";
import type { AdminUser, User } from "../api/types";
import { type Note, NoteLine } from "../app/NoteLine";
import { messageOf } from "../app/words";
import { inviteLink, resetLink, validUntil } from "./links";
import { SetupChecks } from "./SetupChecks";

type Invite = components["schemas"]["InviteOut"];
type PendingInvite = components["schemas"]["PendingInviteOut"];
type Reset = { code: string; expires_at: string };

const EXPIRY_DAYS = { "1": "1 day", "7": "7 days", "30": "30 days" } as const;

function QrCode({ text, label }: { text: string; label: string }) {
  // uqr draws the code as SVG markup of its own making (no input reaches it as markup).
  const svg = useMemo(() => renderSVG(text, { pixelSize: 6, border: 2 }), [text]);
  return <div className="qr" role="img" aria-label={label} dangerouslySetInnerHTML={{ __html: svg }} />;
}

function ShareLink({ link, expiresAt, what }: { link: string; expiresAt: string; what: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="share" aria-label={what}>
      <p>
        Send this link, or let them scan the code with their phone's camera. It works once,{" "}
        {validUntil(expiresAt)}.
      </p>
      <QrCode text={link} label={`QR code of the ${what.toLowerCase()}`} />
      <p className="link">
        <a href={link}>{link}</a>
      </p>
      <button
        type="button"
        onClick={() =>
          void navigator.clipboard
            .writeText(link)
            .then(() => setCopied(true))
            .catch(() => setCopied(false))
        }
      >
        {copied ? "Copied" : "Copy link"}
      </button>
    </div>
  );
}

function Member({
  person,
  me,
  onChanged,
  onRemoved,
  onNote,
}: {
  person: AdminUser;
  me: User;
  onChanged: (person: AdminUser) => void;
  onRemoved: (person: AdminUser) => void;
  onNote: (note: Note) => void;
}) {
  const [reset, setReset] = useState<Reset | null>(null);
  const [confirming, setConfirming] = useState(false);
  const name = person.display_name;
  const act = async (work: () => Promise<void>) => {
    onNote(null);
    try {
      await work();
    } catch (error) {
      onNote({ kind: "error", text: messageOf(error) });
    }
  };
  return (
    <li className="member">
      <div className="member-name">
        <strong>{name}</strong>
        <small>
          {person.username}
          {person.id === me.id ? " (you)" : ""}
        </small>
      </div>
      <label>
        <span className="visually-hidden">Role of {name}</span>
        <select
          value={person.role}
          onChange={(event) => {
            const role = event.target.value; // read now: the select shows the saved role until then
            void act(async () => {
              const body = JSON.stringify({ role });
              onChanged(await api.json<AdminUser>(`/api/admin/users/${person.id}`, { method: "PATCH", body }));
              onNote({ kind: "info", text: `${name} is now ${role === "admin" ? "an admin" : "a member"}.` });
            });
          }}
        >
          <option value="member">Member</option>
          <option value="admin">Admin</option>
        </select>
      </label>
      {person.id !== me.id && (
        <button
          type="button"
          onClick={() =>
            void act(async () => {
              const url = `/api/admin/users/${person.id}/password-reset`;
              setReset(await api.json<Reset>(url, { method: "POST", body: "{}" }));
            })
          }
        >
          Reset password
        </button>
      )}
      {person.id === me.id ? null : confirming ? (
        <span className="confirm" role="group" aria-label={`Confirm removing ${name}`}>
          <span>Remove {name} and everything Butler keeps of them?</span>
          <button
            type="button"
            className="danger"
            onClick={() =>
              void act(async () => {
                await api.json<void>(`/api/admin/users/${person.id}`, { method: "DELETE" });
                onRemoved(person);
                onNote({ kind: "info", text: `${name} was removed.` });
              }).finally(() => setConfirming(false))
            }
          >
            Remove
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </span>
      ) : (
        <button type="button" className="quiet" onClick={() => setConfirming(true)}>
          Remove…
        </button>
      )}
      {reset && (
        <ShareLink
          link={resetLink(window.location.origin, reset.code)}
          expiresAt={reset.expires_at}
          what={`Password reset link for ${name}`}
        />
      )}
    </li>
  );
}

/** Invite links not used yet: a link sent to the wrong person can be made useless. */
function PendingInvites({ invites, onRevoke }: { invites: PendingInvite[]; onRevoke: (invite: PendingInvite) => void }) {
  if (invites.length === 0) return null;
  return (
    <>
      <h2>Invites not used yet</h2>
      <ul className="pending-invites" aria-label="Invites not used yet">
        {invites.map((invite) => {
          const what = `${invite.role === "admin" ? "Admin" : "Member"} invite`;
          const by = invite.created_by ? ` by ${invite.created_by}` : "";
          return (
            <li key={invite.id}>
              <span>
                {what}
                {by}, {validUntil(invite.expires_at)}
              </span>
              <button type="button" className="quiet small" onClick={() => onRevoke(invite)} aria-label={`Revoke ${what.toLowerCase()}${by}, ${validUntil(invite.expires_at)}`}>
                Revoke
              </button>
            </li>
          );
        })}
      </ul>
    </>
  );
}

export function HouseholdView({ user }: { user: User }) {
  const [people, setPeople] = useState<AdminUser[]>([]);
  const [invite, setInvite] = useState<Invite | null>(null);
  const [note, setNote] = useState<Note>(null);

  const [pending, setPending] = useState<PendingInvite[]>([]);

  const load = useCallback(async () => {
    try {
      const [everyone, unused] = await Promise.all([
        api.json<AdminUser[]>("/api/admin/users"),
        api.json<PendingInvite[]>("/api/admin/invites"),
      ]);
      setPeople(everyone);
      setPending(unused);
    } catch (error) {
      setNote({ kind: "error", text: messageOf(error) });
    }
  }, []);
  useEffect(() => void load(), [load]);

  const createInvite = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setNote(null);
    try {
      const body = JSON.stringify({ role: form.get("role"), expires_in_days: Number(form.get("expires")) });
      const made = await api.json<Invite>("/api/admin/invites", { method: "POST", body });
      setInvite(made);
      setPending(await api.json<PendingInvite[]>("/api/admin/invites"));
    } catch (error) {
      setNote({ kind: "error", text: messageOf(error) });
    }
  };

  const revoke = async (revoked: PendingInvite) => {
    setNote(null);
    try {
      await api.json<void>(`/api/admin/invites/${revoked.id}`, { method: "DELETE" });
      setPending((all) => all.filter((invite) => invite.id !== revoked.id));
      if (invite?.id === revoked.id) setInvite(null); // its link on screen no longer works
      setNote({ kind: "info", text: "Invite revoked: its link no longer works." });
    } catch (error) {
      setNote({ kind: "error", text: messageOf(error) });
    }
  };

  return (
    <section className="household" aria-label="Household">
      <SetupChecks />
      <form className="invite-form" onSubmit={createInvite} aria-label="Invite someone">
        <fieldset>
          <legend>Invite someone</legend>
          <label>
            As
            <select name="role" defaultValue="member">
              <option value="member">Member</option>
              <option value="admin">Admin (can manage the household)</option>
            </select>
          </label>
          <label>
            Valid for
            <select name="expires" defaultValue="7">
              {Object.entries(EXPIRY_DAYS).map(([days, text]) => (
                <option key={days} value={days}>
                  {text}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary">
            Create invite link
          </button>
          {invite && (
            <>
              <p className="code">
                Invite code: <code>{invite.code}</code>
              </p>
              <ShareLink link={inviteLink(window.location.origin, invite.code)} expiresAt={invite.expires_at} what="Invite link" />
            </>
          )}
        </fieldset>
      </form>
      <NoteLine note={note} />
      <PendingInvites invites={pending} onRevoke={(revoked) => void revoke(revoked)} />
      <h2>People</h2>
      <ul className="members" aria-label="People in the household">
        {people.map((person) => (
          <Member
            key={person.id}
            person={person}
            me={user}
            onNote={setNote}
            onChanged={(changed) => setPeople((all) => all.map((p) => (p.id === changed.id ? changed : p)))}
            onRemoved={(removed) => setPeople((all) => all.filter((p) => p.id !== removed.id))}
          />
        ))}
      </ul>
    </section>
  );
}
