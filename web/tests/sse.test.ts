import { describe, expect, it } from "vitest";
import { SseParser } from "../src/api/sse";

function feedAll(chunks: string[]) {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.feed(chunk));
}

describe("SseParser", () => {
  it("parses named events with JSON data", () => {
    expect(feedAll(['event: text_delta\ndata: {"text":"Hi"}\n\n'])).toEqual([
      { event: "text_delta", data: '{"text":"Hi"}' },
    ]);
  });

  it("joins events split at every possible byte boundary", () => {
    const body = 'event: text_delta\ndata: {"text":"Hello"}\n\nevent: done\ndata: {"message_id":7}\n\n';
    const expected = [
      { event: "text_delta", data: '{"text":"Hello"}' },
      { event: "done", data: '{"message_id":7}' },
    ];
    for (let cut = 1; cut < body.length; cut++) {
      expect(feedAll([body.slice(0, cut), body.slice(cut)])).toEqual(expected);
    }
    expect(feedAll([...body])).toEqual(expected); // one character at a time
  });

  it("handles CRLF line ends, including a CRLF split across chunks", () => {
    expect(feedAll(["event: done\r", "\ndata: {}\r\n\r", "\n"])).toEqual([{ event: "done", data: "{}" }]);
    // A lone CR ends a line too; one at the end of a chunk waits to see if LF follows.
    expect(feedAll(["event: done\rdata: 1\r\r", ": next\n"])).toEqual([{ event: "done", data: "1" }]);
  });

  it("ignores keep-alive comments, also between the lines of an event", () => {
    expect(feedAll([": keep-alive\n\n", "event: text_delta\n: ping\ndata: x\n\n", ": keep-alive\n\n"])).toEqual([
      { event: "text_delta", data: "x" },
    ]);
  });

  it("joins multi-line data and defaults the event name to message", () => {
    expect(feedAll(["data: one\ndata: two\n\n"])).toEqual([{ event: "message", data: "one\ntwo" }]);
  });

  it("passes error events through with their payload", () => {
    const [event] = feedAll(['event: error\ndata: {"code":"llm_unavailable","message":"Claude is busy."}\n\n']);
    expect(event?.event).toBe("error");
    expect(JSON.parse(event?.data ?? "")).toEqual({ code: "llm_unavailable", message: "Claude is busy." });
  });

  it("holds back an event until its blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.feed("event: done\ndata: {}\n")).toEqual([]);
    expect(parser.feed("\n")).toEqual([{ event: "done", data: "{}" }]);
  });

  it("resets the event name after each event", () => {
    expect(feedAll(["event: done\ndata: 1\n\ndata: 2\n\n"])).toEqual([
      { event: "done", data: "1" },
      { event: "message", data: "2" },
    ]);
  });
});
