/**
 * The WhatsApp section's logic, kept apart from React so that it can be tested: the
 * number and code fields' checks (the server's own rules, said before it has to refuse),
 * which failures belong on which field, the sentences the section says, and the wa.me
 * link to Butler's number.
 */
import { ApiError } from "../api/client";
import type { WhatsAppPending, WhatsAppStatus } from "../api/types";

export const NUMBER_HINT = "International form, e.g. +44 7700 900123";
export const CODE_HINT = "The six digits in Butler's message on WhatsApp. A code lasts 10 minutes.";
/** The longest number the server takes as typed (WhatsAppNumberIn.phone_number). */
export const MAX_NUMBER = 24;

/** Where the section is: not set up on this Butler, a number to give, a code to enter, linked. */
export type Phase = "unavailable" | "number" | "code" | "linked";

export function phaseOf(status: WhatsAppStatus, choosingNumber: boolean): Phase {
  if (!status.available) return "unavailable";
  if (status.phone_number) return "linked";
  return status.pending && !choosingNumber ? "code" : "number";
}

/** A number as typed, with the spaces, dashes, dots and brackets people write taken out. */
export function compactNumber(typed: string): string {
  return typed.replace(/[\s\-().]/g, "");
}

/** What is wrong with a typed number, or null when the server will take it (E.164:
 * + then 7 to 15 digits, the first not 0). */
export function numberProblem(typed: string): string | null {
  const number = compactNumber(typed);
  if (number === "") return "Type your WhatsApp number.";
  if (number.startsWith("00")) return "Write + instead of the 00 before the country code, e.g. +44 7700 900123.";
  if (!number.startsWith("+")) return "Start with + and the country code, e.g. +44 7700 900123.";
  const digits = number.slice(1);
  if (!/^[0-9]+$/.test(digits)) return "Use only digits after the +, e.g. +44 7700 900123.";
  if (digits.startsWith("0")) return "Put the country code right after the +: a country code never starts with 0.";
  if (digits.length < 7) return "That is too short for a number with its country code.";
  if (digits.length > 15) {
    return `That is too long: a phone number has at most 15 digits after the + (this has ${digits.length}).`;
  }
  return null;
}

/** The code as typed, without spaces (a code copied from WhatsApp may carry some). */
export function compactCode(typed: string): string {
  return typed.replace(/\s/g, "");
}

export function codeProblem(typed: string): string | null {
  const code = compactCode(typed);
  if (code === "") return "Type the six-digit code from Butler's message.";
  if (!/^[0-9]{6}$/.test(code)) return "The code is six digits, like 123456.";
  return null;
}

/** A link that opens a chat with `number` in WhatsApp, or null when it holds no number. */
export function waMeLink(number: string | null | undefined): string | null {
  const digits = (number ?? "").replace(/\D/g, "");
  return digits.length >= 7 ? `https://wa.me/${digits}` : null;
}

/**
 * The number field's own problem in a failed "Send code": the server's reason for a
 * number it refuses (422), that is someone else's or that WhatsApp will not let Butler
 * write to first (409), a code asked for moments ago (429), or WhatsApp refusing (502).
 * Anything else (the network, a session that ended) is not the field's.
 */
export function sendProblem(error: unknown, status: WhatsAppStatus | null, butlerName = "Butler"): string | null {
  if (!(error instanceof ApiError) || ![409, 422, 429, 502].includes(error.status)) return null;
  if (error.code === "whatsapp_window_closed" && status?.business_number) {
    return `${error.message} Message ${butlerName} at ${status.business_number} first.`;
  }
  return error.message;
}

/** The code field's own problem in a failed "Link": a wrong or expired code, none
 * waiting (422), or the number taken by someone else meanwhile (409). */
export function codeFailure(error: unknown): string | null {
  return error instanceof ApiError && (error.status === 422 || error.status === 409) ? error.message : null;
}

function clock(instant: string, zone: string, locale?: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, timeStyle: "short" }).format(Date.parse(instant));
}

function day(instant: string, zone: string, locale?: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, dateStyle: "medium" }).format(Date.parse(instant));
}

/** Where linking stands, in one sentence, on the person's clock. */
export function stateSentence(status: WhatsAppStatus, phase: Phase, zone: string, locale?: string): string {
  switch (phase) {
    case "unavailable":
      return "WhatsApp is not set up on this Butler. An admin sets it up in Butler's settings (BUTLER_WHATSAPP__*).";
    case "linked":
      return status.linked_at
        ? `Linked to ${status.phone_number} on ${day(status.linked_at, zone, locale)}.`
        : `Linked to ${status.phone_number}.`;
    case "code":
      return status.pending ? pendingSentence(status.pending, zone, locale) : "Type the code Butler sent.";
    case "number":
      return "Not linked. Give your number and Butler sends a code to it on WhatsApp.";
  }
}

export function pendingSentence(pending: WhatsAppPending, zone: string, locale?: string): string {
  const until = clock(pending.expires_at, zone, locale);
  return `A code was sent to ${pending.phone_number} on WhatsApp; it works until ${until}.`;
}

export function voiceRepliesSentence(on: boolean): string {
  return on ? "Saved: a voice note gets a voice note back." : "Saved: a voice note gets a written answer.";
}
