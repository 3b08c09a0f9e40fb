/**
 * The Tools page's logic, kept apart from React so that it can be tested: a server's state
 * in words, where it is set and who may use it, the order of the list, and the add form's
 * checks (the server's own rules, said before the server has to refuse).
 */
import type { McpServer, McpServerBody } from "../api/types";
import { countOf, joinList } from "../app/words";
import type { Tone } from "../home/model";

/** How often the list is asked for while the page is open: a server being connected
 * shows its state without a reload. */
export const REFRESH_MS = 3000;

/** The server's rule for a name: it is part of each of its tools' names (mcp_<name>__<tool>). */
export const SERVER_NAME = /^[a-z][a-z0-9_]{0,19}$/;
export const MAX_NAME = 20;
export const MAX_ADDRESS = 2000;
export const ADDRESS_EXAMPLE = "http://127.0.0.1:9000/mcp";

export type People = McpServer["people"];

// Each map must name every value the API sends: the generated types check that.
export const PEOPLE = {
  admins: "Admins only",
  everyone: "Everyone in the household",
} satisfies Record<People, string>;

export const TRANSPORTS = {
  http: "Streamable HTTP",
  stdio: "stdio: a command Butler runs on its machine",
} satisfies Record<McpServer["transport"], string>;

export const SOURCES = {
  settings: "Butler's settings: read-only here",
  app: "Added on this page",
} satisfies Record<McpServer["source"], string>;

/** The connection's state in one sentence, with the tone the page colours it by. */
export function stateSentence(server: McpServer): { tone: Tone; text: string } {
  switch (server.state) {
    case "connected":
      return { tone: "ok", text: "Connected." };
    case "connecting":
      return { tone: "waiting", text: "Connecting…" };
    case "failed": {
      const why = server.error ? `: ${server.error.replace(/\.$/, "")}` : "";
      return { tone: "problem", text: `Failed${why}. Butler keeps trying.` };
    }
    default:
      return { tone: "waiting", text: `${String(server.state)}.` };
  }
}

/** The tools the model is offered from the server, in words. */
export function toolsSentence(server: McpServer): string {
  if (server.state !== "connected") return "Listed once it is connected.";
  if (server.tools.length === 0) return "None: the server offers no tools.";
  return `${countOf(server.tools.length, "tool", "tools")}: ${joinList([...server.tools].sort())}.`;
}

/** The settings' servers first (they are always there), then the ones added here; each by name. */
export function sortServers(servers: readonly McpServer[]): McpServer[] {
  const rank = (server: McpServer) => (server.source === "settings" ? 0 : 1);
  return [...servers].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** What is wrong with a new server's name, or null when the server will take it. */
export function nameProblem(name: string, servers: readonly McpServer[]): string | null {
  if (name === "") return "Give the server a name.";
  if (!SERVER_NAME.test(name)) {
    if (name.length > MAX_NAME) return `Use at most ${MAX_NAME} characters (this is ${name.length}).`;
    if (!/^[a-z]/.test(name)) return "Start the name with a lower-case letter.";
    return "Use only lower-case letters, digits and _ (no spaces).";
  }
  if (servers.some((s) => s.name === name && s.source === "settings")) {
    return `“${name}” is set in Butler's settings: choose another name.`;
  }
  return null;
}

/** Whether adding under this name replaces a server added here before (the server then answers 200). */
export function replacesServer(name: string, servers: readonly McpServer[]): boolean {
  return servers.some((s) => s.name === name && s.source === "app");
}

/** What is wrong with a streamable-HTTP server's address, or null when the server will take it. */
export function addressProblem(url: string): string | null {
  if (url === "") return "Give the server's address.";
  if (url.length > MAX_ADDRESS) return `Use at most ${MAX_ADDRESS} characters.`;
  // The server takes printable ASCII only: anything else must be %-encoded.
  if (!/^[\x21-\x7e]+$/.test(url)) return "An address has no spaces or accented letters.";
  // The "//" too: a browser reads "http:host" as "http://host/", the server does not.
  const parsed = /^https?:\/\//i.test(url) ? parsedUrl(url) : null;
  if (!parsed?.hostname) return `Give an http or https address, like ${ADDRESS_EXAMPLE}`;
  return null;
}

function parsedUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

export type AddForm = { name: string; url: string; people: People };
export type AddProblems = { name: string | null; url: string | null };

/** The form as typed, with the spaces a phone's keyboard adds at either end left out. */
export function formOf(data: FormData): AddForm {
  const text = (field: string) => String(data.get(field) ?? "").trim();
  return { name: text("name"), url: text("url"), people: text("people") === "everyone" ? "everyone" : "admins" };
}

export function problemsOf(form: AddForm, servers: readonly McpServer[]): AddProblems {
  return { name: nameProblem(form.name, servers), url: addressProblem(form.url) };
}

export function bodyOf(form: AddForm): McpServerBody {
  return { url: form.url, people: form.people };
}
