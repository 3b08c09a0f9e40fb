/**
 * Turns that did not finish (stopped, failed, cut off) are not stored by the server, by
 * design: it keeps only answered turns. This browser keeps them instead, question and
 * partial reply, so a reload still shows them with a Retry, until retried or dismissed.
 */
import type { ChatItem } from "./conversation";

export interface UnfinishedTurn {
  id: string;
  question: string;
  reply: string;
  status: "stopped" | "failed";
  error?: string;
  at: string; // ISO time of the question
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEEP = 10;

export class UnfinishedTurns {
  constructor(
    private readonly store: KeyValueStore | undefined,
    private readonly userId: string,
  ) {}

  private get key(): string {
    return `butler.unfinished.${this.userId}`;
  }

  list(): UnfinishedTurn[] {
    try {
      const parsed: unknown = JSON.parse(this.store?.getItem(this.key) ?? "[]");
      return Array.isArray(parsed) ? (parsed as UnfinishedTurn[]) : [];
    } catch {
      return []; // unreadable: start afresh rather than break the chat
    }
  }

  add(turn: UnfinishedTurn): void {
    this.save([...this.list().filter((t) => t.id !== turn.id), turn].slice(-KEEP));
  }

  remove(id: string): void {
    this.save(this.list().filter((t) => t.id !== id));
  }

  clear(): void {
    this.store?.removeItem(this.key);
  }

  private save(turns: UnfinishedTurn[]): void {
    if (turns.length === 0) this.store?.removeItem(this.key);
    else this.store?.setItem(this.key, JSON.stringify(turns));
  }
}

/** The question and the unfinished reply, as the chat shows them. */
export function itemsOf(turn: UnfinishedTurn): ChatItem[] {
  return [
    { key: `u${turn.id}q`, role: "user", text: turn.question, channel: "text", tools: [], status: "done", at: turn.at },
    {
      key: `u${turn.id}`,
      role: "assistant",
      text: turn.reply,
      channel: "text",
      tools: [],
      status: turn.status,
      error: turn.error,
      at: turn.at,
      question: turn.question,
      unfinishedId: turn.id,
    },
  ];
}

/** History and this browser's unfinished turns in the order they happened. */
export function mergeByTime(history: ChatItem[], unfinished: UnfinishedTurn[]): ChatItem[] {
  const merged = [...history];
  for (const turn of [...unfinished].sort((a, b) => a.at.localeCompare(b.at))) {
    const at = Date.parse(turn.at);
    const index = merged.findIndex((item) => item.at !== undefined && Date.parse(item.at) > at);
    merged.splice(index === -1 ? merged.length : index, 0, ...itemsOf(turn));
  }
  return merged;
}
