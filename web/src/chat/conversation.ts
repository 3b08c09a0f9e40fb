/** The chat screen's messages and how stream events change them (pure, unit-tested). */
import type { ChatEvent, HistoryMessage } from "../api/types";

export interface ToolActivity {
  id: string;
  label: string;
  state: "running" | "done" | "failed";
}

export interface ChatItem {
  key: string;
  role: "user" | "assistant";
  text: string;
  channel: string;
  tools: ToolActivity[];
  status: "done" | "streaming" | "stopped" | "failed";
  error?: string;
  /** When it was said (ISO); shown beside the message. */
  at?: string;
  /** On a reply: the question it answers, for Retry. */
  question?: string;
  /** On an unfinished reply kept by this browser: its id there. */
  unfinishedId?: string;
}

export function fromHistory(message: HistoryMessage): ChatItem {
  const interrupted = message.metadata["interrupted"] === true;
  return {
    key: `h${message.id}`,
    role: message.role === "user" ? "user" : "assistant",
    text: message.content,
    channel: message.channel,
    tools: [],
    status: interrupted ? "stopped" : "done",
    at: message.created_at,
  };
}

/** Apply one stream event to the reply being written. */
export function applyEvent(reply: ChatItem, event: ChatEvent): ChatItem {
  switch (event.type) {
    case "text_delta":
      return { ...reply, text: reply.text + event.text };
    case "tool_started":
      return {
        ...reply,
        tools: [...reply.tools, { id: event.id, label: event.label, state: "running" }],
      };
    case "tool_finished":
      return {
        ...reply,
        tools: reply.tools.map((t) => (t.id === event.id ? { ...t, state: event.ok ? "done" : "failed" } : t)),
      };
    case "done":
      return { ...reply, status: "done", key: event.message_id ? `h${event.message_id}` : reply.key };
    case "error":
      return { ...reply, status: "failed", error: event.message };
  }
}
