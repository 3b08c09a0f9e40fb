import { describe, expect, it } from "vitest";
import { ApiClient, ApiError, retryAfter } from "../src/api/client";
import { secondsLeft, waitMessage } from "../src/auth/countdown";

describe("the wait after too many sign-in attempts", () => {
  it("counts whole seconds down to zero and never below", () => {
    const until = 10_000;
    expect(secondsLeft(until, 0)).toBe(10);
    expect(secondsLeft(until, 500)).toBe(10);
    expect(secondsLeft(until, 1_000)).toBe(9);
    expect(secondsLeft(until, 9_001)).toBe(1);
    expect(secondsLeft(until, 10_000)).toBe(0);
    expect(secondsLeft(until, 20_000)).toBe(0);
  });

  it("says how long is left, then that it is over", () => {
    expect(waitMessage(42)).toBe("Too many attempts. You can try again in 42 seconds.");
    expect(waitMessage(1)).toBe("Too many attempts. You can try again in 1 second.");
    expect(waitMessage(0)).toBe("You can try again now.");
  });

  it("reads Retry-After in seconds and ignores what it cannot read", () => {
    expect(retryAfter("120")).toBe(120);
    expect(retryAfter(" 5 ")).toBe(5);
    expect(retryAfter(null)).toBeNull();
    expect(retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBeNull();
    expect(retryAfter("-3")).toBeNull();
  });

  it("carries the server's Retry-After on the error of a refused sign-in", async () => {
    const refused = () =>
      Response.json(
        { error: "rate_limited", message: "Too many attempts; try again in 37 seconds." },
        { status: 429, headers: { "Retry-After": "37" } },
      );
    const client = new ApiClient("", (async () => refused()) as typeof fetch);
    const error = await client.login("ann", "wrong").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(429);
    expect((error as ApiError).retryAfterSeconds).toBe(37);
  });
});
