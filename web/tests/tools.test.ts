import { describe, expect, it } from "vitest";
import spec from "../openapi.json";
import type { McpServer } from "../src/api/types";
import {
  addressProblem,
  bodyOf,
  formOf,
  nameProblem,
  problemsOf,
  replacesServer,
  SERVER_NAME,
  sortServers,
  stateSentence,
  toolsSentence,
} from "../src/tools/model";

function server(name: string, changes: Partial<McpServer> = {}): McpServer {
  return {
    name,
    transport: "http",
    source: "app",
    address: `http://127.0.0.1:9000/${name}`,
    people: "admins",
    state: "connected",
    error: null,
    tools: [],
    ...changes,
  };
}

const pantry = server("pantry", { source: "settings", transport: "stdio", address: "python pantry.py" });

describe("a server's state", () => {
  it("is a sentence with the tone the page colours it by", () => {
    expect(stateSentence(server("notes"))).toEqual({ tone: "ok", text: "Connected." });
    expect(stateSentence(server("notes", { state: "connecting" }))).toEqual({ tone: "waiting", text: "Connecting…" });
  });

  it("says why a server failed, and that Butler keeps trying", () => {
    const failed = server("notes", { state: "failed", error: "ConnectError: All connection attempts failed." });
    expect(stateSentence(failed)).toEqual({
      tone: "problem",
      text: "Failed: ConnectError: All connection attempts failed. Butler keeps trying.",
    });
    expect(stateSentence(server("notes", { state: "failed" })).text).toBe("Failed. Butler keeps trying.");
  });
});

describe("a server's tools", () => {
  it("are counted and listed by name once it is connected", () => {
    const tools = ["mcp_pantry__slow", "mcp_pantry__add", "mcp_pantry__broken"];
    expect(toolsSentence(server("pantry", { tools }))).toBe(
      "3 tools: mcp_pantry__add, mcp_pantry__broken and mcp_pantry__slow.",
    );
    expect(toolsSentence(server("pantry", { tools: ["mcp_pantry__add"] }))).toBe("1 tool: mcp_pantry__add.");
    expect(toolsSentence(server("pantry"))).toBe("None: the server offers no tools.");
  });

  it("are not claimed while it is not connected", () => {
    expect(toolsSentence(server("pantry", { state: "connecting" }))).toBe("Listed once it is connected.");
    expect(toolsSentence(server("pantry", { state: "failed", error: "gone" }))).toBe("Listed once it is connected.");
  });
});

describe("the list", () => {
  it("has the settings' servers first, then the ones added here, each by name", () => {
    const listed = [server("zoo"), server("calendar", { source: "settings" }), server("alpha"), pantry];
    expect(sortServers(listed).map((s) => s.name)).toEqual(["calendar", "pantry", "alpha", "zoo"]);
    expect(listed.map((s) => s.name)).toEqual(["zoo", "calendar", "alpha", "pantry"]); // not sorted in place
  });
});

describe("a new server's name", () => {
  it("follows the API's own pattern", () => {
    const put = spec.paths["/api/admin/mcp/servers/{name}"].put;
    const name = put.parameters.find((p) => p.name === "name");
    expect(name?.schema.pattern).toBe(SERVER_NAME.source);
  });

  it("is taken exactly when the server's pattern takes it", () => {
    const samples = ["a", "notes", "home_2", "a".repeat(20), "a".repeat(21), "", "2fa", "_x", "Notes", "my notes", "café", "x-y"];
    for (const name of samples) {
      expect(nameProblem(name, []) === null, name).toBe(/^[a-z][a-z0-9_]{0,19}$/.test(name));
    }
  });

  it("says what to change", () => {
    expect(nameProblem("", [])).toBe("Give the server a name.");
    expect(nameProblem("Notes", [])).toBe("Start the name with a lower-case letter.");
    expect(nameProblem("2fa", [])).toBe("Start the name with a lower-case letter.");
    expect(nameProblem("my notes", [])).toBe("Use only lower-case letters, digits and _ (no spaces).");
    expect(nameProblem("my-notes", [])).toBe("Use only lower-case letters, digits and _ (no spaces).");
    expect(nameProblem("a".repeat(25), [])).toBe("Use at most 20 characters (this is 25).");
  });

  it("cannot be one from Butler's settings, but may replace one added here", () => {
    const servers = [pantry, server("notes")];
    expect(nameProblem("pantry", servers)).toBe("“pantry” is set in Butler's settings: choose another name.");
    expect(nameProblem("notes", servers)).toBeNull();
    expect(replacesServer("notes", servers)).toBe(true);
    expect(replacesServer("pantry", servers)).toBe(false);
    expect(replacesServer("calendar", servers)).toBe(false);
  });
});

describe("a new server's address", () => {
  it("is an http or https address with a host, as the server requires", () => {
    expect(addressProblem("http://127.0.0.1:9000/mcp")).toBeNull();
    expect(addressProblem("https://tools.example.org/mcp?key=abc%20d")).toBeNull();
    expect(addressProblem("HTTP://Tools.example.org/")).toBeNull();
    const wanted = "Give an http or https address, like http://127.0.0.1:9000/mcp";
    for (const wrong of ["127.0.0.1:9000/mcp", "ftp://files.example.org", "http://", "http:tools.example.org", "mailto:a@b.c"]) {
      expect(addressProblem(wrong), wrong).toBe(wanted);
    }
  });

  it("has no spaces or other characters the server refuses, and a length it takes", () => {
    expect(addressProblem("")).toBe("Give the server's address.");
    expect(addressProblem("http://my server/mcp")).toBe("An address has no spaces or accented letters.");
    expect(addressProblem("http://café.example.org/mcp")).toBe("An address has no spaces or accented letters.");
    expect(addressProblem(`http://example.org/${"a".repeat(1990)}`)).toBe("Use at most 2000 characters.");
  });
});

describe("the add form", () => {
  function data(fields: Record<string, string>): FormData {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    return form;
  }

  it("drops the spaces a keyboard adds at either end, and asks for admins only unless told", () => {
    const form = formOf(data({ name: " notes ", url: " http://127.0.0.1:9000/mcp\n" }));
    expect(form).toEqual({ name: "notes", url: "http://127.0.0.1:9000/mcp", people: "admins" });
    expect(bodyOf(form)).toEqual({ url: "http://127.0.0.1:9000/mcp", people: "admins" });
    expect(formOf(data({ name: "notes", url: "x", people: "everyone" })).people).toBe("everyone");
  });

  it("finds every field's problem at once", () => {
    expect(problemsOf({ name: "My Notes", url: "notes.local", people: "admins" }, [])).toEqual({
      name: "Start the name with a lower-case letter.",
      url: "Give an http or https address, like http://127.0.0.1:9000/mcp",
    });
    expect(problemsOf({ name: "notes", url: "http://notes.local/mcp", people: "everyone" }, [])).toEqual({
      name: null,
      url: null,
    });
  });
});
