/** The links an admin hands out, and how long they last (pure, unit-tested). */

export function inviteLink(origin: string, code: string): string {
  return `${origin}/?invite=${encodeURIComponent(code)}`;
}

export function resetLink(origin: string, code: string): string {
  return `${origin}/?reset=${encodeURIComponent(code)}`;
}

/** "until Tue 8 Dec, 14:05" in the reader's own locale and time zone. */
export function validUntil(expiresAt: string, locale?: string): string {
  const when = new Date(expiresAt);
  const day = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short" }).format(when);
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(when);
  return `until ${day}, ${time}`;
}
