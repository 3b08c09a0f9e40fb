import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api/client";
import type { HistoryPage } from "../api/types";
import { applyEvent, type ChatItem, fromHistory } from "./conversation";
import { mergeByTime, UnfinishedTurns } from "./unfinished";

const PAGE = 30;
let counter = 0;
const localKey = () => `l${++counter}`;

/** The server's id of a message loaded from or confirmed by history (keys `h<id>`). */
function storedId(item: ChatItem): number | undefined {
  return item.key.startsWith("h") ? Number(item.key.slice(1)) : undefined;
}

export function useConversation(userId: string) {
  const [items, setItems] = useState<ChatItem[]>([]);
  const [olderCursor, setOlderCursor] = useState<number | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [streaming, setStreaming] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const unfinished = useMemo(() => new UnfinishedTurns(globalThis.localStorage, userId), [userId]);
  // The first page of history replaces the list: a message sent before it arrives
  // waits for it, or the history would wipe the message and its streaming reply.
  const firstPage = useRef<Promise<void> | null>(null);

  const loadPage = useCallback(
    async (before: number | null) => {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (before !== null) query.set("before", String(before));
      try {
        const page = await api.json<HistoryPage>(`/api/chat/history?${query}`);
        const older = page.messages.map(fromHistory).reverse(); // the API pages newest first
        setItems((current) => (before === null ? mergeByTime(older, unfinished.list()) : [...older, ...current]));
        setOlderCursor(page.next_before ?? null);
        setLoadError(null);
      } catch (error) {
        setLoadError(error instanceof Error ? error.message : String(error));
      }
    },
    [unfinished],
  );

  useEffect(() => {
    firstPage.current = loadPage(null);
    return () => controller.current?.abort();
  }, [loadPage]);

  const updateReply = (key: string, change: (reply: ChatItem) => ChatItem) =>
    setItems((current) => current.map((item) => (item.key === key ? change(item) : item)));

  const send = async (message: string, { temporary = false } = {}) => {
    const replyKey = localKey();
    const abort = new AbortController();
    controller.current = abort;
    setStreaming(true);
    await firstPage.current;
    const at = new Date().toISOString();
    const channel = temporary ? "temporary" : "text";
    setItems((current) => [
      ...current,
      { key: localKey(), role: "user", text: message, channel, tools: [], status: "done", at },
      { key: replyKey, role: "assistant", text: "", channel, tools: [], status: "streaming", at, question: message },
    ]);
    let key = replyKey;
    let written = "";
    const keepUnfinished = (status: "stopped" | "failed", error?: string) => {
      if (temporary) return; // a temporary chat keeps nothing, not even here
      unfinished.add({ id: replyKey, question: message, reply: written, status, error, at });
    };
    try {
      for await (const event of api.stream("/api/chat/stream", { message, temporary }, abort.signal)) {
        const current = key;
        if (event.type === "text_delta") written += event.text;
        if (event.type === "error") keepUnfinished("failed", event.message);
        updateReply(current, (reply) => ({ ...applyEvent(reply, event), unfinishedId: event.type === "error" ? replyKey : undefined }));
        if (event.type === "done" && event.message_id) key = `h${event.message_id}`;
      }
      updateReply(key, (reply) => {
        if (reply.status !== "streaming") return reply;
        keepUnfinished("failed", "The reply was cut off. Try again.");
        return { ...reply, status: "failed", error: "The reply was cut off. Try again.", unfinishedId: replyKey };
      });
    } catch (error) {
      const stopped = error instanceof DOMException && error.name === "AbortError";
      const reason = error instanceof Error ? error.message : String(error);
      keepUnfinished(stopped ? "stopped" : "failed", stopped ? undefined : reason);
      updateReply(key, (reply) =>
        stopped
          ? { ...reply, status: "stopped", unfinishedId: replyKey }
          : { ...reply, status: "failed", error: reason, unfinishedId: replyKey },
      );
    } finally {
      controller.current = null;
      setStreaming(false);
    }
  };

  const stop = () => controller.current?.abort();

  /** Forget an unfinished turn: from this browser and from the screen. */
  const dismiss = (reply: ChatItem) => {
    if (reply.unfinishedId) unfinished.remove(reply.unfinishedId);
    setItems((current) => {
      const index = current.findIndex((item) => item.key === reply.key);
      if (index === -1) return current;
      const from = current[index - 1]?.role === "user" ? index - 1 : index;
      return [...current.slice(0, from), ...current.slice(index + 1)];
    });
  };

  /** Ask an unfinished turn's question again, in its place at the end. */
  const retry = async (reply: ChatItem) => {
    if (!reply.question || streaming) return;
    dismiss(reply);
    await send(reply.question, { temporary: reply.channel === "temporary" });
  };

  /**
   * Edit-and-resend: the exchange `question` began is forgotten (by the server, or by
   * this browser when it never finished) and `message` is sent in its place at the end.
   * Throws, keeping everything as it was, when the server cannot forget it.
   */
  const resend = async (question: ChatItem, message: string, options: { temporary?: boolean } = {}) => {
    const index = items.findIndex((item) => item.key === question.key);
    if (index === -1) return send(message, options); // gone meanwhile: nothing to replace
    const next = items[index + 1];
    const reply = next?.role === "assistant" ? next : undefined;
    if (reply?.unfinishedId) unfinished.remove(reply.unfinishedId);
    else if (question.channel !== "temporary") {
      // A turn sent from this page knows only its reply's id; either half will do.
      const id = storedId(question) ?? (reply && storedId(reply));
      if (id !== undefined) await api.json<void>(`/api/chat/history/${id}`, { method: "DELETE" });
    }
    const gone = new Set([question.key, reply?.key]);
    setItems((current) => current.filter((item) => !gone.has(item.key)));
    await send(message, options);
  };

  const clear = async () => {
    await api.json<void>("/api/chat/history", { method: "DELETE" });
    unfinished.clear();
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
    retry,
    dismiss,
    resend,
    clear,
  };
}
