import { type FormEvent, useEffect, useMemo, useState } from "react";
import { ApiError, api } from "../api/client";
import type { ProfilePatch, Soul, User, VoiceOption } from "../api/types";
import { type Note, NoteLine } from "../app/NoteLine";
import { messageOf } from "../app/words";
import { HomePlaceForm } from "./HomePlaceForm";
import { WhatsAppForm } from "./WhatsAppForm";

// Each map must name every value the API accepts: the generated types check that.
const STYLES = { warm: "Warm", formal: "Formal", casual: "Casual", playful: "Playful" } satisfies Record<
  Soul["style"],
  string
>;
const VERBOSITY = { brief: "Brief", balanced: "Balanced", detailed: "Detailed" } satisfies Record<
  Soul["verbosity"],
  string
>;
const HUMOUR = { none: "None", light: "A little", plenty: "Plenty" } satisfies Record<Soul["humour"], string>;

function Choice<K extends string>({
  label,
  name,
  value,
  options,
}: {
  label: string;
  name: string;
  value: K;
  options: Record<K, string>;
}) {
  return (
    <label>
      {label}
      <select name={name} defaultValue={value}>
        {(Object.entries(options) as [K, string][]).map(([id, text]) => (
          <option key={id} value={id}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

function timezones(current: string): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return known.includes(current) ? known : [current, ...known];
}

/** This device's IANA time zone, as the browser knows it. */
function deviceZone(): string | null {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
}

export function SettingsView({
  user,
  onSaved,
  onSignOut,
}: {
  user: User;
  onSaved: (user: User) => void;
  onSignOut: () => void;
}) {
  const [voices, setVoices] = useState<VoiceOption[]>([]);
  const [status, setStatus] = useState<Note>(null);
  const [busy, setBusy] = useState(false);
  const zones = useMemo(() => timezones(user.timezone), [user.timezone]);
  const [zone, setZone] = useState(user.timezone);
  const [zoneRefused, setZoneRefused] = useState(false);
  const device = deviceZone();

  useEffect(() => {
    api
      .json<VoiceOption[]>("/api/users/voices")
      .then(setVoices)
      .catch((error: unknown) => setStatus({ kind: "error", text: messageOf(error) }));
  }, []);

  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? "");
    const patch: ProfilePatch = {
      display_name: text("display_name").trim(),
      voice: text("voice") || undefined,
      timezone: text("timezone").trim(),
      soul: {
        butler_name: text("butler_name").trim(),
        style: text("style") as Soul["style"],
        verbosity: text("verbosity") as Soul["verbosity"],
        humour: text("humour") as Soul["humour"],
        custom_instructions: text("custom_instructions"),
      },
    };
    setBusy(true);
    setStatus(null);
    setZoneRefused(false);
    try {
      const saved = await api.json<User>("/api/users/me", { method: "PATCH", body: JSON.stringify(patch) });
      onSaved(saved);
      setStatus({ kind: "info", text: "Saved. The next reply uses these settings." });
    } catch (error) {
      setZoneRefused(error instanceof ApiError && error.code === "invalid_timezone");
      setStatus({ kind: "error", text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const soul = user.soul;
  return (
    <section className="settings" aria-label="Settings">
      <form onSubmit={save}>
        <fieldset>
          <legend>You</legend>
          <label>
            Your name
            <input name="display_name" required maxLength={64} defaultValue={user.display_name} />
          </label>
          <label>
            Time zone
            <select
              name="timezone"
              required
              value={zone}
              onChange={(e) => setZone(e.target.value)}
              aria-invalid={zoneRefused || undefined}
            >
              {zones.map((name) => (
                <option key={name} value={name}>
                  {name.replaceAll("_", " ")}
                </option>
              ))}
            </select>
          </label>
          {device && device !== zone && (
            <button type="button" onClick={() => setZone(device)}>
              Use this device's time zone ({device.replaceAll("_", " ")})
            </button>
          )}
        </fieldset>
        <fieldset>
          <legend>Your butler</legend>
          <label>
            Butler's name
            <input name="butler_name" required maxLength={40} defaultValue={soul.butler_name} />
          </label>
          <Choice label="Style" name="style" value={soul.style} options={STYLES} />
          <Choice label="How much to say" name="verbosity" value={soul.verbosity} options={VERBOSITY} />
          <Choice label="Humour" name="humour" value={soul.humour} options={HUMOUR} />
          <label>
            Anything else it should know about how to talk to you
            <textarea
              name="custom_instructions"
              rows={4}
              maxLength={2000}
              defaultValue={soul.custom_instructions}
            />
          </label>
          <label>
            Voice
            <select name="voice" defaultValue={user.voice} key={voices.length}>
              {voices.length === 0 && <option value={user.voice}>{user.voice}</option>}
              {voices.map((voice) => (
                <option key={voice.id} value={voice.id}>
                  {voice.label}
                </option>
              ))}
            </select>
          </label>
        </fieldset>
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
        <NoteLine note={status} />
      </form>
      <HomePlaceForm user={user} onSaved={onSaved} />
      <WhatsAppForm user={user} />
      <div className="account">
        <p>
          Signed in as <strong>{user.username}</strong>.
        </p>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </section>
  );
}
