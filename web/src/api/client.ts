/**
 * The Butler API client. The access token lives only in this object's memory; the
 * refresh cookie (httpOnly, path /api/auth) restores a session after a reload. Any 401
 * on an authenticated call triggers one refresh and one retry, for JSON and streams.
 */
import { SseParser } from "./sse";
import type { ChatEvent, ErrorBody, SessionResponse, StreamEvents, User } from "./types";

type Fetch = typeof fetch;

/**
 * Where the client notes that a refresh cookie probably exists. It holds no secret:
 * it only spares a signed-out visitor a refresh call that can only fail with a 401.
 */
export interface SessionHint {
  get(): boolean;
  set(present: boolean): void;
}

const HINT_KEY = "butler.signed-in";

export const browserHint: SessionHint = {
  get: () => globalThis.localStorage?.getItem(HINT_KEY) === "1",
  set: (present) => {
    if (present) globalThis.localStorage?.setItem(HINT_KEY, "1");
    else globalThis.localStorage?.removeItem(HINT_KEY);
  },
};

const alwaysTry: SessionHint = { get: () => true, set: () => {} };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** From Retry-After: seconds until the same call may succeed (429, 503). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Retry-After in seconds (the only form Butler sends); null when absent or unreadable. */
export function retryAfter(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header.trim());
}

/** The network itself failed: the server is down or the device is offline. */
export class NetworkError extends Error {
  constructor() {
    super("Butler's server cannot be reached. Check your connection and try again.");
    this.name = "NetworkError";
  }
}

const STREAM_EVENTS: ReadonlySet<string> = new Set<keyof StreamEvents>([
  "text_delta",
  "tool_started",
  "tool_finished",
  "done",
  "error",
]);

async function errorFrom(response: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> = {};
  try {
    body = (await response.json()) as Partial<ErrorBody>;
  } catch {
    // not JSON (a proxy's error page, say): fall back to the status line
  }
  const message = body.message ?? `The server answered ${response.status} ${response.statusText}.`;
  const wait = retryAfter(response.headers.get("Retry-After"));
  return new ApiError(response.status, body.error ?? "http_error", message, wait);
}

export class ApiClient {
  private accessToken: string | null = null;
  private refreshing: Promise<User | null> | null = null;
  private readonly fetchFn: Fetch;

  /** Called when a refresh fails: the session is over and the app shows sign-in. */
  onSignedOut: () => void = () => {};

  constructor(
    private readonly baseUrl = "",
    fetchFn?: Fetch,
    private readonly hint: SessionHint = alwaysTry,
  ) {
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
  }

  get signedIn(): boolean {
    return this.accessToken !== null;
  }

  /** Resume the session kept by the refresh cookie, if there is one. */
  async restore(): Promise<User | null> {
    return this.hint.get() ? this.refresh() : null;
  }

  async login(username: string, password: string): Promise<User> {
    return this.startSession("/api/auth/login", { username, password });
  }

  async register(body: {
    code: string;
    username: string;
    display_name: string;
    password: string;
  }): Promise<User> {
    return this.startSession("/api/auth/register", body);
  }

  /** A new password from an admin's one-time reset link; signs in. */
  async resetPassword(code: string, password: string): Promise<User> {
    return this.startSession("/api/auth/reset-password", { code, password });
  }

  async logout(): Promise<void> {
    try {
      await this.raw("/api/auth/logout", { method: "POST" });
    } finally {
      this.accessToken = null;
      this.hint.set(false);
    }
  }

  /** A JSON call; throws ApiError with the server's reason when it is not 2xx. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.authed(path, withJsonHeaders(init));
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /** POST `body` and yield the server-sent events of the reply, until it ends. */
  async *stream(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const response = await this.authed(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw await errorFrom(response);
    if (!response.body) throw new ApiError(response.status, "no_body", "The reply had no body.");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const message of parser.feed(value)) {
          if (!STREAM_EVENTS.has(message.event)) continue; // newer servers may add events
          yield { type: message.event, ...JSON.parse(message.data) } as ChatEvent;
        }
      }
    } finally {
      reader.cancel().catch(() => {}); // stop the download when the consumer stops early
    }
  }

  private async startSession(path: string, body: unknown): Promise<User> {
    const response = await this.raw(path, withJsonHeaders({ method: "POST", body: JSON.stringify(body) }));
    if (!response.ok) throw await errorFrom(response);
    return this.accept((await response.json()) as SessionResponse);
  }

  private accept(session: SessionResponse): User {
    this.accessToken = session.access_token;
    this.hint.set(true);
    return session.user;
  }

  /** One refresh at a time: concurrent 401s share it. Resolves to null when it fails. */
  private refresh(): Promise<User | null> {
    this.refreshing ??= (async () => {
      try {
        const response = await this.raw("/api/auth/refresh", { method: "POST" });
        if (!response.ok) {
          this.accessToken = null;
          this.hint.set(false);
          return null;
        }
        return this.accept((await response.json()) as SessionResponse);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async authed(path: string, init: RequestInit): Promise<Response> {
    const response = await this.raw(path, init, this.accessToken);
    if (response.status !== 401) return response;
    const user = await this.refresh();
    if (user === null) {
      this.onSignedOut();
      return response;
    }
    return this.raw(path, init, this.accessToken);
  }

  private async raw(path: string, init: RequestInit, token: string | null = null): Promise<Response> {
    const headers = new Headers(init.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    try {
      return await this.fetchFn(this.baseUrl + path, {
        ...init,
        headers,
        credentials: "same-origin",
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new NetworkError();
    }
  }
}

function withJsonHeaders(init: RequestInit): RequestInit {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  return { ...init, headers };
}

export const api = new ApiClient("", undefined, browserHint);
