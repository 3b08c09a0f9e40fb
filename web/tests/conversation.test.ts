import { describe, expect, it } from "vitest";
import { applyEvent, type ChatItem, fromHistory } from "../src/chat/conversation";

const reply: ChatItem = { key: "l1", role: "assistant", text: "", channel: "text", tools: [], status: "streaming" };

describe("applyEvent", () => {
  it("appends text and tracks a tool from start to finish", () => {
    let item = applyEvent(reply, { type: "tool_started", id: "t1", name: "lights_off", label: "Turning off the kitchen lights" });
    expect(item.tools).toEqual([{ id: "t1", label: "Turning off the kitchen lights", state: "running" }]);
    item = applyEvent(item, { type: "tool_finished", id: "t1", name: "lights_off", ok: true });
    item = applyEvent(item, { type: "text_delta", text: "Done" });
    item = applyEvent(item, { type: "text_delta", text: "." });
    item = applyEvent(item, { type: "done", message_id: 42, should_end_turn: false, home_action_id: null });
    expect(item).toMatchObject({ text: "Done.", status: "done", key: "h42", tools: [{ state: "done" }] });
  });

  it("marks a failed tool and a failed turn with the server's sentence", () => {
    let item = applyEvent(reply, { type: "tool_started", id: "t1", name: "x", label: "Checking" });
    item = applyEvent(item, { type: "tool_finished", id: "t1", name: "x", ok: false });
    item = applyEvent(item, { type: "error", code: "llm_unavailable", message: "Claude is overloaded." });
    expect(item).toMatchObject({ status: "failed", error: "Claude is overloaded.", tools: [{ state: "failed" }] });
  });
});

describe("fromHistory", () => {
  it("keeps the channel and shows an interrupted voice reply as stopped", () => {
    const item = fromHistory({
      id: 5,
      channel: "voice",
      session_id: "s",
      role: "assistant",
      content: "It is",
      created_at: "2026-11-26T10:00:00Z",
      metadata: { interrupted: true },
    });
    expect(item).toMatchObject({ key: "h5", channel: "voice", status: "stopped", role: "assistant" });
  });
});
