import { describe, expect, it } from "vitest";
import { inviteLink, resetLink, validUntil } from "../src/household/links";

describe("the links an admin hands out", () => {
  it("carry the code, escaped, on this Butler's own address", () => {
    expect(inviteLink("https://192.168.1.20:8000", "AB12C-DE34F")).toBe("https://192.168.1.20:8000/?invite=AB12C-DE34F");
    expect(resetLink("http://127.0.0.1:8000", "a b&c")).toBe("http://127.0.0.1:8000/?reset=a%20b%26c");
  });

  it("say until when they work", () => {
    expect(validUntil("2026-12-08T14:05:00Z", "en-GB")).toMatch(/^until Tue 8 Dec, \d\d:\d\d$/);
  });
});
