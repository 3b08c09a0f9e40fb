import { describe, expect, it } from "vitest";
import { ApiError, NetworkError } from "../src/api/client";
import type { WhatsAppAdminStatus, WhatsAppStatus } from "../src/api/types";
import {
  codeFailure,
  codeProblem,
  compactCode,
  compactNumber,
  numberProblem,
  phaseOf,
  sendProblem,
  stateSentence,
  voiceRepliesSentence,
  waMeLink,
} from "../src/settings/whatsapp";
import {
  configuredSentence,
  problemTitle,
  shownNumber,
  waitingSentence,
  webhookUrl,
} from "../src/tools/whatsapp";

function status(changes: Partial<WhatsAppStatus> = {}): WhatsAppStatus {
  return {
    available: true,
    business_number: "+1 555 000 1111",
    phone_number: null,
    voice_replies: false,
    linked_at: null,
    pending: null,
    ...changes,
  };
}

const pending = { phone_number: "+447700900123", expires_at: "2026-05-03T13:42:00Z" };

describe("the number field", () => {
  it("takes a number in international form, however it is spaced", () => {
    for (const typed of ["+447700900123", "+44 7700 900123", " +44 7700-900.123 ", "+1 555 000 1111"]) {
      expect(numberProblem(typed), typed).toBeNull();
    }
    expect(compactNumber("+44 7700 900123")).toBe("+447700900123");
    expect(compactNumber("+1 (555) 000-1111")).toBe("+15550001111");
  });

  it("says what to change in a number the server would refuse", () => {
    expect(numberProblem("")).toBe("Type your WhatsApp number.");
    expect(numberProblem("   ")).toBe("Type your WhatsApp number.");
    expect(numberProblem("07700 900123")).toBe("Start with + and the country code, e.g. +44 7700 900123.");
    expect(numberProblem("0044 7700 900123")).toBe(
      "Write + instead of the 00 before the country code, e.g. +44 7700 900123.",
    );
    expect(numberProblem("+44 7700 9OO123")).toBe("Use only digits after the +, e.g. +44 7700 900123.");
    expect(numberProblem("+0 7700 900123")).toMatch(/^Put the country code right after the \+/);
    expect(numberProblem("+44 123")).toBe("That is too short for a number with its country code.");
    expect(numberProblem("+1234567")).toBeNull(); // 7 digits: the shortest E.164 the server takes
    expect(numberProblem("+123456789012345")).toBeNull(); // 15: the longest
    expect(numberProblem("+1234567890123456")).toBe(
      "That is too long: a phone number has at most 15 digits after the + (this has 16).",
    );
  });
});

describe("the code field", () => {
  it("takes six digits, spaces aside", () => {
    expect(codeProblem("123456")).toBeNull();
    expect(codeProblem(" 123 456 ")).toBeNull();
    expect(compactCode(" 123 456 ")).toBe("123456");
  });

  it("says what a code looks like", () => {
    expect(codeProblem("")).toBe("Type the six-digit code from Butler's message.");
    expect(codeProblem("12345")).toBe("The code is six digits, like 123456.");
    expect(codeProblem("1234567")).toBe("The code is six digits, like 123456.");
    expect(codeProblem("12a456")).toBe("The code is six digits, like 123456.");
  });
});

describe("a chat with Butler's number", () => {
  it("is a wa.me link of its digits", () => {
    expect(waMeLink("+1 555 000 1111")).toBe("https://wa.me/15550001111");
    expect(waMeLink("+44 20 7946 0958")).toBe("https://wa.me/442079460958");
  });

  it("is no link without a number", () => {
    expect(waMeLink(null)).toBeNull();
    expect(waMeLink(undefined)).toBeNull();
    expect(waMeLink("")).toBeNull();
    expect(waMeLink("ask the admin")).toBeNull();
  });
});

describe("a failed Send code", () => {
  it("is the number field's when the server refused the number", () => {
    const bad = new ApiError(422, "invalid_input", "phone_number must be in international form");
    expect(sendProblem(bad, status())).toBe("phone_number must be in international form");
    const taken = new ApiError(409, "conflict", "That number is linked to another person in this household.");
    expect(sendProblem(taken, status())).toBe("That number is linked to another person in this household.");
    const soon = new ApiError(429, "rate_limited", "A code was just sent; ask again in 30 s.");
    expect(sendProblem(soon, status())).toBe("A code was just sent; ask again in 30 s.");
    const meta = new ApiError(502, "whatsapp_error", "WhatsApp refused the message.");
    expect(sendProblem(meta, status())).toBe("WhatsApp refused the message.");
  });

  it("says whom to message first when WhatsApp will not let Butler write first", () => {
    const closed = new ApiError(409, "whatsapp_window_closed", "Send any message to Butler's number first.");
    expect(sendProblem(closed, status(), "Jeeves")).toBe(
      "Send any message to Butler's number first. Message Jeeves at +1 555 000 1111 first.",
    );
    expect(sendProblem(closed, status({ business_number: null }))).toBe("Send any message to Butler's number first.");
    expect(sendProblem(closed, null)).toBe("Send any message to Butler's number first.");
  });

  it("is not the field's when the network or the session failed", () => {
    expect(sendProblem(new NetworkError(), status())).toBeNull();
    expect(sendProblem(new ApiError(401, "not_authenticated", "Sign in again."), status())).toBeNull();
    expect(sendProblem(new ApiError(500, "internal_error", "Something went wrong."), status())).toBeNull();
  });
});

describe("a failed Link", () => {
  it("is the code field's for a wrong, expired or missing code", () => {
    const wrong = new ApiError(422, "wrong_code", "That code is not right; 4 tries left.");
    expect(codeFailure(wrong)).toBe("That code is not right; 4 tries left.");
    expect(codeFailure(new ApiError(422, "code_expired", "That code has expired: ask for a new one."))).toBe(
      "That code has expired: ask for a new one.",
    );
    expect(codeFailure(new ApiError(409, "conflict", "That number is linked to another person."))).toBe(
      "That number is linked to another person.",
    );
    expect(codeFailure(new NetworkError())).toBeNull();
    expect(codeFailure(new ApiError(404, "whatsapp_not_configured", "Not set up."))).toBeNull();
  });
});

describe("where linking stands", () => {
  it("follows the server: not set up, a number to give, a code to enter, linked", () => {
    expect(phaseOf(status({ available: false }), false)).toBe("unavailable");
    expect(phaseOf(status(), false)).toBe("number");
    expect(phaseOf(status({ pending }), false)).toBe("code");
    expect(phaseOf(status({ pending }), true)).toBe("number"); // "Use another number"
    expect(phaseOf(status({ phone_number: "+447700900123", pending }), false)).toBe("linked");
  });

  it("is said on the person's clock", () => {
    const zone = "Europe/London";
    expect(stateSentence(status({ available: false }), "unavailable", zone)).toMatch(
      /^WhatsApp is not set up on this Butler\. .*BUTLER_WHATSAPP__\*/,
    );
    expect(stateSentence(status(), "number", zone)).toBe(
      "Not linked. Give your number and Butler sends a code to it on WhatsApp.",
    );
    expect(stateSentence(status({ pending }), "code", zone, "en-GB")).toBe(
      "A code was sent to +447700900123 on WhatsApp; it works until 14:42.",
    );
    const linked = status({ phone_number: "+447700900123", linked_at: "2026-05-03T23:30:00Z" });
    expect(stateSentence(linked, "linked", zone, "en-GB")).toBe("Linked to +447700900123 on 4 May 2026.");
    expect(stateSentence(linked, "linked", "America/New_York", "en-GB")).toBe(
      "Linked to +447700900123 on 3 May 2026.",
    );
  });

  it("says what a voice note now gets", () => {
    expect(voiceRepliesSentence(true)).toBe("Saved: a voice note gets a voice note back.");
    expect(voiceRepliesSentence(false)).toBe("Saved: a voice note gets a written answer.");
  });
});

describe("the admins' WhatsApp panel", () => {
  const admin = (changes: Partial<WhatsAppAdminStatus> = {}): WhatsAppAdminStatus => ({
    configured: true,
    webhook_path: "/api/channels/whatsapp/webhook",
    waiting: 0,
    problems: [],
    ...changes,
  });

  it("says whether the channel is set up", () => {
    expect(configuredSentence(admin())).toEqual({
      tone: "ok",
      text: "Set up: Butler answers messages to its WhatsApp number.",
    });
    const off = configuredSentence(admin({ configured: false }));
    expect(off.tone).toBe("off");
    expect(off.text).toMatch(/^Not set up\. Set BUTLER_WHATSAPP__ACCESS_TOKEN/);
  });

  it("gives Meta the webhook on this page's own address", () => {
    expect(webhookUrl("https://butler.example.org", "/api/channels/whatsapp/webhook")).toBe(
      "https://butler.example.org/api/channels/whatsapp/webhook",
    );
    expect(webhookUrl("http://127.0.0.1:8000/", "/api/x")).toBe("http://127.0.0.1:8000/api/x");
  });

  it("counts the messages waiting", () => {
    expect(waitingSentence(0)).toBe("No messages waiting to be answered.");
    expect(waitingSentence(1)).toBe("1 message waiting to be answered.");
    expect(waitingSentence(3)).toBe("3 messages waiting to be answered.");
  });

  it("shows a problem's number as people write it, and its title as a sentence", () => {
    expect(shownNumber("447700900123")).toBe("+447700900123");
    expect(shownNumber("+447700900123")).toBe("+447700900123");
    expect(shownNumber(null)).toBe("No number");
    expect(problemTitle({ what: "a reminder was not sent" })).toBe("A reminder was not sent");
    expect(problemTitle({ what: "  " })).toBe("A problem");
  });
});
