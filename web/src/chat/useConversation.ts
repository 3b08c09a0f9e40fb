import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { HistoryPage } from "../api/types";
import { applyEvent, type ChatItem, fromHistory } from "./conversation";

const PAGE = 30;
let counter = 0;
const localKey = () => `l${++counter}`;

export function useConversation() {
  const [items, setItems] = useState<ChatItem[]>([]);
  const [olderCursor, setOlderCursor] = useState<number | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [streaming, setStreaming] = useState(false);
  const controller = useRef<AbortController | null>(null);
  // The first page of history replaces the list: a message sent before it arrives
  // waits for it, or the history would wipe the message and its streaming reply.
  const firstPage = useRef<Promise<void> | null>(null);

  const loadPage = useCallback(async (before: number | null) => {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (before !== null) query.set("before", String(before));
    try {
      const page = await api.json<HistoryPage>(`/api/chat/history?${query}`);
      const older = page.messages.map(fromHistory).reverse(); // the API pages newest first
      setItems((current) => (before === null ? older : [...older, ...current]));
      setOlderCursor(page.next_before ?? null);
      setLoadError(null);
    } catch (error) {
      setLoadError(error instanceof Error ? error.message : String(error));
    }
  }, []);

  useEffect(() => {
    firstPage.current = loadPage(null);
    return () => controller.current?.abort();
  }, [loadPage]);

  const updateReply = (key: string, change: (reply: ChatItem) => ChatItem) =>
    setItems((current) => current.map((item) => (item.key === key ? change(item) : item)));

  const send = async (message: string) => {
    const replyKey = localKey();
    const abort = new AbortController();
    controller.current = abort;
    setStreaming(true);
    await firstPage.current;
    setItems((current) => [
      ...current,
      { key: localKey(), role: "user", text: message, channel: "text", tools: [], status: "done" },
      { key: replyKey, role: "assistant", text: "", channel: "text", tools: [], status: "streaming" },
    ]);
    let key = replyKey;
    try {
      for await (const event of api.stream("/api/chat/stream", { message }, abort.signal)) {
        const current = key;
        updateReply(current, (reply) => applyEvent(reply, event));
        if (event.type === "done" && event.message_id) key = `h${event.message_id}`;
      }
      updateReply(key, (reply) =>
        reply.status === "streaming"
          ? { ...reply, status: "failed", error: "The reply was cut off. Try again." }
          : reply,
      );
    } catch (error) {
      const stopped = error instanceof DOMException && error.name === "AbortError";
      updateReply(key, (reply) =>
        stopped
          ? { ...reply, status: "stopped" }
          : { ...reply, status: "failed", error: error instanceof Error ? error.message : String(error) },
      );
    } finally {
      controller.current = null;
      setStreaming(false);
    }
  };

  const stop = () => controller.current?.abort();

  const clear = async () => {
    await api.json<void>("/api/chat/history", { method: "DELETE" });
    setItems([]);
    setOlderCursor(null);
  };

  return {
    items,
    streaming,
    loadError,
    hasOlder: olderCursor !== null,
    loadOlder: () => loadPage(olderCursor),
    send,
    stop,
    clear,
  };
}
