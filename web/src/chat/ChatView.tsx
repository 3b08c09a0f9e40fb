import { type FormEvent, type KeyboardEvent, useEffect, useLayoutEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { HistoryPage, User } from "../api/types";
import { messageOf } from "../app/words";
import { type ChatItem, fromHistory } from "./conversation";
import { Markdown } from "./Markdown";
import { useConversation } from "./useConversation";

/** Within this many pixels of the end the pane counts as "at the bottom" and follows. */
const FOLLOW_SLACK = 48;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

function shownTime(at: string | undefined): string {
  if (!at) return "";
  const when = new Date(at);
  const today = new Date().toDateString() === when.toDateString();
  return today ? timeFormat.format(when) : `${dayFormat.format(when)}, ${timeFormat.format(when)}`;
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(text);
    setCopied(true);
    window.setTimeout(() => setCopied(false), 2000);
  };
  return (
    <button type="button" className="quiet small" onClick={() => void copy().catch(() => setCopied(false))}>
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

interface MessageActions {
  busy: boolean;
  retry: (item: ChatItem) => void;
  dismiss: (item: ChatItem) => void;
  edit: (item: ChatItem) => void;
}

function Message({ item, butlerName, actions }: { item: ChatItem; butlerName: string; actions: MessageActions }) {
  const who = item.role === "user" ? "You" : butlerName;
  const unfinished = item.status === "stopped" || item.status === "failed";
  return (
    <article className={`message ${item.role}`} aria-label={`${who} said`} data-status={item.status}>
      {item.channel === "voice" && <span className="tag">voice</span>}
      {item.channel === "temporary" && <span className="tag">temporary: not kept</span>}
      {item.tools.map((tool) => (
        <p key={tool.id} className={`tool ${tool.state}`} role="status">
          {tool.state === "running"
            ? `${tool.label}…`
            : tool.state === "failed"
              ? `${tool.label}: that did not work`
              : `${tool.label}: done`}
        </p>
      ))}
      {item.role === "assistant" ? <Markdown text={item.text} /> : <p className="plain">{item.text}</p>}
      {item.status === "streaming" && item.text === "" && item.tools.length === 0 && (
        <p className="typing" aria-label={`${butlerName} is writing`}>
          …
        </p>
      )}
      {item.status === "stopped" && <p className="note">Stopped.</p>}
      {item.status === "failed" && (
        <p className="error" role="alert">
          {item.error}
        </p>
      )}
      {item.status !== "streaming" && (
        <footer className="message-meta">
          {item.at && <time dateTime={item.at}>{shownTime(item.at)}</time>}
          {item.text && <CopyButton text={item.text} />}
          {item.role === "user" && (
            <button type="button" className="quiet small" onClick={() => actions.edit(item)}>
              Edit
            </button>
          )}
          {unfinished && item.question && (
            <>
              <button type="button" className="quiet small" disabled={actions.busy} onClick={() => actions.retry(item)}>
                Retry
              </button>
              <button type="button" className="quiet small" onClick={() => actions.dismiss(item)}>
                Dismiss
              </button>
            </>
          )}
        </footer>
      )}
    </article>
  );
}

/** Search in one's history: the matching messages, newest first, in place of the chat. */
function HistorySearch({ butlerName }: { butlerName: string }) {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<ChatItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = async (event: FormEvent) => {
    event.preventDefault();
    if (!query.trim()) return;
    try {
      const params = new URLSearchParams({ query: query.trim(), limit: "50" });
      const page = await api.json<HistoryPage>(`/api/chat/history?${params}`);
      setFound(page.messages.map(fromHistory));
      setError(null);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };
  return (
    <div className="history-search">
      <form role="search" className="row" onSubmit={(event) => void search(event)}>
        <label htmlFor="history-query" className="visually-hidden">
          Search your conversations
        </label>
        <input
          id="history-query"
          type="search"
          placeholder="Search your conversations"
          value={query}
          onChange={(event) => {
            setQuery(event.target.value);
            if (!event.target.value) setFound(null);
          }}
        />
        <button type="submit">Search</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {found && (
        <section className="search-results" aria-label="Search results">
          <p className="hint">
            {found.length === 0 ? "Nothing found." : `${found.length} ${found.length === 1 ? "message" : "messages"}, newest first.`}{" "}
            <button type="button" className="quiet small" onClick={() => (setFound(null), setQuery(""))}>
              Back to the conversation
            </button>
          </p>
          {found.map((item) => (
            <article key={item.key} className={`message ${item.role}`} aria-label={`${item.role === "user" ? "You" : butlerName} said`}>
              <p className="plain">{item.text}</p>
              <footer className="message-meta">{item.at && <time dateTime={item.at}>{shownTime(item.at)}</time>}</footer>
            </article>
          ))}
        </section>
      )}
    </div>
  );
}

export function ChatView({ user }: { user: User }) {
  const chat = useConversation(user.id);
  const [draft, setDraft] = useState("");
  const [temporary, setTemporary] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [clearError, setClearError] = useState<string | null>(null);
  const [editing, setEditing] = useState<ChatItem | null>(null);
  const [editError, setEditError] = useState<string | null>(null);
  const [following, setFollowing] = useState(true);
  const pane = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const lastText = chat.items.at(-1)?.text;
  const lastStatus = chat.items.at(-1)?.status; // a finished reply grows its footer

  const toLatest = () => {
    const element = pane.current;
    if (element) element.scrollTop = element.scrollHeight;
    setFollowing(true);
  };

  // Follow the reply only while the person is at the bottom; reading back stays put.
  // "At the bottom" is judged from where the pane was before the new text arrived, not
  // from the last scroll event, which may not have been dispatched yet mid-stream.
  const heightBefore = useRef(0);
  useLayoutEffect(() => {
    const element = pane.current;
    if (!element) return;
    if (element.scrollTop + element.clientHeight >= heightBefore.current - FOLLOW_SLACK) {
      element.scrollTop = element.scrollHeight;
    }
    heightBefore.current = element.scrollHeight;
  }, [chat.items.length, lastText, lastStatus]);

  const onScroll = () => {
    const element = pane.current;
    if (!element) return;
    setFollowing(element.scrollHeight - element.scrollTop - element.clientHeight <= FOLLOW_SLACK);
  };

  const stop = () => {
    chat.stop();
    composer.current?.focus(); // the Stop button goes away: keep the keyboard in the composer
  };

  // Escape stops a reply from anywhere on the page.
  const streaming = chat.streaming;
  useEffect(() => {
    if (!streaming) return;
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === "Escape") stop();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  });

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const message = draft.trim();
    if (!message || chat.streaming) return;
    toLatest();
    setDraft("");
    if (editing) {
      const replaced = editing;
      setEditing(null);
      setEditError(null);
      chat.resend(replaced, message, { temporary }).catch((error: unknown) => {
        // Nothing was replaced: the edit comes back to the composer, still an edit.
        setEditing(replaced);
        setEditError(messageOf(error));
        setDraft(message);
      });
      return;
    }
    void chat.send(message, { temporary });
  };

  const cancelEdit = () => {
    setEditing(null);
    setEditError(null);
    setDraft("");
    composer.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  const clear = async () => {
    try {
      await chat.clear();
      setConfirming(false);
      setClearError(null);
    } catch (error) {
      setClearError(error instanceof Error ? error.message : String(error));
    }
  };

  const actions: MessageActions = {
    busy: chat.streaming,
    retry: (item) => {
      toLatest();
      void chat.retry(item);
    },
    dismiss: chat.dismiss,
    edit: (item) => {
      setEditing(item);
      setEditError(null);
      setDraft(item.text);
      composer.current?.focus();
    },
  };

  const butlerName = user.soul.butler_name;
  return (
    <section className="chat" aria-label="Chat">
      <div className="chat-tools">
        <HistorySearch butlerName={user.soul.butler_name} />
        {confirming ? (
          <div className="confirm" role="group" aria-label="Confirm clearing history">
            <span>Delete every message, typed and spoken?</span>
            <button type="button" className="danger" onClick={clear}>
              Delete history
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" className="quiet" onClick={() => setConfirming(true)} disabled={chat.items.length === 0}>
            Clear history
          </button>
        )}
        {clearError && (
          <p className="error" role="alert">
            {clearError}
          </p>
        )}
      </div>
      <div className="messages" role="log" aria-live="polite" aria-label="Conversation" ref={pane} onScroll={onScroll}>
        {chat.hasOlder && (
          <button type="button" className="quiet older" onClick={() => void chat.loadOlder()}>
            Show earlier messages
          </button>
        )}
        {chat.loadError && (
          <p className="error" role="alert">
            {chat.loadError}
          </p>
        )}
        {chat.items.length === 0 && !chat.loadError && (
          <p className="empty">Ask {butlerName} anything, or switch to Voice and just talk.</p>
        )}
        {chat.items.map((item) => (
          <Message key={item.key} item={item} butlerName={butlerName} actions={actions} />
        ))}
      </div>
      {!following && (
        <button type="button" className="jump" onClick={toLatest}>
          Jump to latest
        </button>
      )}
      {editing && (
        <div className="editing" role="group" aria-label="Editing a message">
          <span>Editing: sending replaces that message and its reply.</span>
          <button type="button" className="quiet small" onClick={cancelEdit}>
            Cancel edit
          </button>
          {editError && (
            <p className="error" role="alert">
              {editError}
            </p>
          )}
        </div>
      )}
      <form className="composer" onSubmit={submit}>
        <label className="switch temporary">
          <input type="checkbox" role="switch" checked={temporary} onChange={(e) => setTemporary(e.target.checked)} />
          Temporary
        </label>
        <label htmlFor="message" className="visually-hidden">
          Message to {butlerName}
        </label>
        <textarea
          id="message"
          ref={composer}
          rows={1}
          value={draft}
          maxLength={8000}
          placeholder={temporary ? `Message ${butlerName} (not kept)` : `Message ${butlerName}`}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {chat.streaming ? (
          <button type="button" className="danger" onClick={stop} aria-keyshortcuts="Escape">
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!draft.trim()}>
            Send
          </button>
        )}
      </form>
    </section>
  );
}
