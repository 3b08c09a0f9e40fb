/** The admins' WhatsApp panel's logic, kept apart from React so that it can be tested. */
import type { WhatsAppAdminStatus, WhatsAppProblem } from "../api/types";
import { countOf } from "../app/words";
import type { Tone } from "../home/model";

/** How often the panel is asked for while the page is open. */
export const WHATSAPP_REFRESH_MS = 5000;

export function configuredSentence(status: WhatsAppAdminStatus): { tone: Tone; text: string } {
  return status.configured
    ? { tone: "ok", text: "Set up: Butler answers messages to its WhatsApp number." }
    : {
        tone: "off",
        text:
          "Not set up. Set BUTLER_WHATSAPP__ACCESS_TOKEN, __PHONE_NUMBER_ID, __APP_SECRET and " +
          "__VERIFY_TOKEN in Butler's settings, then restart it.",
      };
}

/** The callback URL to give Meta: the webhook's path on the address this page came from. */
export function webhookUrl(origin: string, path: string): string {
  return `${origin.replace(/\/$/, "")}${path}`;
}

export function waitingSentence(waiting: number): string {
  if (waiting === 0) return "No messages waiting to be answered.";
  return `${countOf(waiting, "message", "messages")} waiting to be answered.`;
}

/** A number as WhatsApp names it (digits) in the form people write it (+ first). */
export function shownNumber(number: string | null): string {
  if (!number) return "No number";
  return /^[0-9]+$/.test(number) ? `+${number}` : number;
}

/** "a reminder was not sent" → "A reminder was not sent". */
export function problemTitle(problem: Pick<WhatsAppProblem, "what">): string {
  const what = problem.what.trim();
  return what ? what[0]!.toUpperCase() + what.slice(1) : "A problem";
}
