import { describe, expect, it } from "vitest";
import type { ChatItem } from "../src/chat/conversation";
import { type KeyValueStore, mergeByTime, UnfinishedTurns } from "../src/chat/unfinished";

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
}

const said = (key: string, at: string): ChatItem => ({
  key,
  role: "user",
  text: key,
  channel: "text",
  tools: [],
  status: "done",
  at,
});

describe("turns that did not finish", () => {
  it("are kept per person, replaced by id, and forgotten when dismissed", () => {
    const store = memoryStore();
    const ann = new UnfinishedTurns(store, "ann");
    const bob = new UnfinishedTurns(store, "bob");
    ann.add({ id: "1", question: "Count sheep", reply: "One", status: "stopped", at: "2026-12-02T10:00:00Z" });
    ann.add({ id: "1", question: "Count sheep", reply: "One, two", status: "stopped", at: "2026-12-02T10:00:00Z" });
    expect(ann.list()).toHaveLength(1);
    expect(ann.list()[0]?.reply).toBe("One, two");
    expect(bob.list()).toEqual([]);
    ann.remove("1");
    expect(ann.list()).toEqual([]);
    expect(store.data.size).toBe(0);
  });

  it("survive unreadable storage by starting afresh", () => {
    const store = memoryStore();
    store.setItem("butler.unfinished.ann", "{not json");
    expect(new UnfinishedTurns(store, "ann").list()).toEqual([]);
  });

  it("keep only the last ten", () => {
    const turns = new UnfinishedTurns(memoryStore(), "ann");
    for (let i = 0; i < 12; i++) turns.add({ id: String(i), question: `q${i}`, reply: "", status: "failed", at: "2026-12-02T10:00:00Z" });
    expect(turns.list().map((t) => t.id)).toEqual(["2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]);
  });

  it("take their place in the history by time, with Retry's question", () => {
    const history = [said("early", "2026-12-02T09:00:00Z"), said("late", "2026-12-02T11:00:00Z")];
    const merged = mergeByTime(history, [
      { id: "x", question: "In between", reply: "Half", status: "stopped", at: "2026-12-02T10:00:00Z" },
      { id: "y", question: "Last", reply: "", status: "failed", error: "Claude is overloaded.", at: "2026-12-02T12:00:00Z" },
    ]);
    expect(merged.map((item) => item.text)).toEqual(["early", "In between", "Half", "late", "Last", ""]);
    expect(merged[2]).toMatchObject({ role: "assistant", status: "stopped", question: "In between", unfinishedId: "x" });
    expect(merged[5]).toMatchObject({ status: "failed", error: "Claude is overloaded." });
  });
});
