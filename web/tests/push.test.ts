import { describe, expect, it } from "vitest";
import { base64UrlToBytes } from "../src/notifications/push";

describe("base64UrlToBytes", () => {
  it("decodes the URL-safe alphabet, with or without padding", () => {
    // 0xfb 0xff 0xbf is "+/+/" in plain base64.
    expect([...base64UrlToBytes("-_-_")]).toEqual([0xfb, 0xff, 0xbf]);
    expect([...base64UrlToBytes("AQID")]).toEqual([1, 2, 3]);
    expect([...base64UrlToBytes("AQI")]).toEqual([1, 2]);
    expect([...base64UrlToBytes("AQI=")]).toEqual([1, 2]);
    expect([...base64UrlToBytes("AQ")]).toEqual([1]);
    expect([...base64UrlToBytes("")]).toEqual([]);
  });

  it("gives the 65-byte uncompressed P-256 point a VAPID public key is", () => {
    const point = new Uint8Array(65).map((_, i) => (i === 0 ? 4 : (i * 37) % 256));
    const base64 = btoa(String.fromCharCode(...point));
    const key = base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); // as the server sends it
    expect(key).toHaveLength(87);
    expect(key).toMatch(/[-_]/); // the URL-safe alphabet is exercised
    const bytes = base64UrlToBytes(key);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes).toEqual(point);
  });

  it("refuses text that is not base64url", () => {
    expect(() => base64UrlToBytes("AQ*D")).toThrow("not base64url");
    expect(() => base64UrlToBytes("AQIDB")).toThrow("not base64url"); // a lone sixth of a byte
  });
});
