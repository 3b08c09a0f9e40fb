import { describe, expect, it } from "vitest";
import { ApiClient, ApiError, NetworkError } from "../src/api/client";

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

/** A fetch that answers from `handler` and records every call. */
function fakeFetch(handler: Handler) {
  const calls: { url: string; auth: string | null; method: string }[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    calls.push({ url, auth: new Headers(init.headers).get("Authorization"), method: init.method ?? "GET" });
    return handler(url, init);
  }) as typeof fetch;
  return { fetchFn, calls };
}

const user = { id: "u1", username: "ann", display_name: "Ann", role: "member", voice: "bf_emma", timezone: "UTC" };
const session = (token: string) => Response.json({ access_token: token, expires_in: 900, user });
const unauthorized = () => Response.json({ error: "not_authenticated", message: "Sign in again." }, { status: 401 });

function sseResponse(chunks: string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
}

describe("ApiClient token refresh", () => {
  it("refreshes once on a 401 and retries with the new token", async () => {
    const { fetchFn, calls } = fakeFetch((url, init) => {
      if (url.endsWith("/api/auth/login")) return session("old");
      if (url.endsWith("/api/auth/refresh")) return session("new");
      const auth = new Headers(init.headers).get("Authorization");
      return auth === "Bearer new" ? Response.json({ ok: true }) : unauthorized();
    });
    const client = new ApiClient("", fetchFn);
    await client.login("ann", "pw");
    await expect(client.json("/api/users/me")).resolves.toEqual({ ok: true });
    expect(calls.map((c) => [c.url, c.auth])).toEqual([
      ["/api/auth/login", null],
      ["/api/users/me", "Bearer old"],
      ["/api/auth/refresh", null],
      ["/api/users/me", "Bearer new"],
    ]);
  });

  it("shares one refresh between concurrent 401s", async () => {
    const { fetchFn, calls } = fakeFetch(async (url, init) => {
      if (url.endsWith("/api/auth/refresh")) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return session("new");
      }
      return new Headers(init.headers).get("Authorization") === "Bearer new" ? Response.json(url) : unauthorized();
    });
    const client = new ApiClient("", fetchFn);
    const results = await Promise.all([client.json("/api/a"), client.json("/api/b"), client.json("/api/c")]);
    expect(results).toEqual(["/api/a", "/api/b", "/api/c"]);
    expect(calls.filter((c) => c.url.endsWith("/refresh"))).toHaveLength(1);
  });

  it("signs out when the refresh fails, and does not retry again", async () => {
    const { fetchFn, calls } = fakeFetch(() => unauthorized());
    const client = new ApiClient("", fetchFn);
    let signedOut = 0;
    client.onSignedOut = () => signedOut++;
    const error = await client.json("/api/users/me").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).message).toBe("Sign in again.");
    expect(signedOut).toBe(1);
    expect(calls.map((c) => c.url)).toEqual(["/api/users/me", "/api/auth/refresh"]);
    expect(client.signedIn).toBe(false);
  });

  it("refreshes and retries a stream that got a 401", async () => {
    const { fetchFn, calls } = fakeFetch((url, init) => {
      if (url.endsWith("/api/auth/refresh")) return session("new");
      if (new Headers(init.headers).get("Authorization") !== "Bearer new") return unauthorized();
      expect(init.body).toBe(JSON.stringify({ message: "hi" })); // the retry resends the body
      return sseResponse(['event: text_delta\ndata: {"text":"He', 'llo"}\n\n: keep-alive\n\n', 'event: done\ndata: {"message_id":3,"should_end_turn":false}\n\n']);
    });
    const client = new ApiClient("", fetchFn);
    const events = [];
    for await (const event of client.stream("/api/chat/stream", { message: "hi" })) events.push(event);
    expect(events).toEqual([
      { type: "text_delta", text: "Hello" },
      { type: "done", message_id: 3, should_end_turn: false },
    ]);
    expect(calls.filter((c) => c.url === "/api/chat/stream")).toHaveLength(2);
  });

  it("does not refresh on a failed login: the 401 is the answer", async () => {
    const { fetchFn, calls } = fakeFetch(() => unauthorized());
    const client = new ApiClient("", fetchFn);
    await expect(client.login("ann", "wrong")).rejects.toThrow("Sign in again.");
    expect(calls).toHaveLength(1);
  });

  it("restores a session from the refresh cookie, or reports none", async () => {
    const restored = new ApiClient("", fakeFetch(() => session("t")).fetchFn);
    await expect(restored.restore()).resolves.toMatchObject({ username: "ann" });
    expect(restored.signedIn).toBe(true);
    const none = new ApiClient("", fakeFetch(() => unauthorized()).fetchFn);
    await expect(none.restore()).resolves.toBeNull();
  });

  it("skips the refresh call when the hint says no session was ever started", async () => {
    let present = false;
    const hint = { get: () => present, set: (value: boolean) => void (present = value) };
    const { fetchFn, calls } = fakeFetch((url) => (url.endsWith("/login") ? session("t") : unauthorized()));
    const client = new ApiClient("", fetchFn, hint);
    await expect(client.restore()).resolves.toBeNull();
    expect(calls).toHaveLength(0);
    await client.login("ann", "pw");
    expect(present).toBe(true);
    await client.logout();
    expect(present).toBe(false);
  });

  it("turns a network failure into a NetworkError that says what happened", async () => {
    const client = new ApiClient("", (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch);
    await expect(client.json("/api/users/me")).rejects.toBeInstanceOf(NetworkError);
  });

  it("uses the status line when an error body is not JSON", async () => {
    const client = new ApiClient("", fakeFetch(() => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" })).fetchFn);
    await expect(client.json("/api/chat")).rejects.toThrow("The server answered 502 Bad Gateway.");
  });
});
