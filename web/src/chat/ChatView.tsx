import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import type { User } from "../api/types";
import type { ChatItem } from "./conversation";
import { Markdown } from "./Markdown";
import { useConversation } from "./useConversation";

function Message({ item, butlerName }: { item: ChatItem; butlerName: string }) {
  const who = item.role === "user" ? "You" : butlerName;
  return (
    <article className={`message ${item.role}`} aria-label={`${who} said`} data-status={item.status}>
      {item.channel === "voice" && <span className="tag">voice</span>}
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
    </article>
  );
}

export function ChatView({ user }: { user: User }) {
  const chat = useConversation();
  const [draft, setDraft] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [clearError, setClearError] = useState<string | null>(null);
  const end = useRef<HTMLDivElement>(null);
  const lastText = chat.items.at(-1)?.text;

  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [chat.items.length, lastText]);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const message = draft.trim();
    if (!message || chat.streaming) return;
    setDraft("");
    void chat.send(message);
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

  const butlerName = user.soul.butler_name;
  return (
    <section className="chat" aria-label="Chat">
      <div className="chat-tools">
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
      <div className="messages" role="log" aria-live="polite" aria-label="Conversation">
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
          <Message key={item.key} item={item} butlerName={butlerName} />
        ))}
        <div ref={end} />
      </div>
      <form className="composer" onSubmit={submit}>
        <label htmlFor="message" className="visually-hidden">
          Message to {butlerName}
        </label>
        <textarea
          id="message"
          rows={1}
          value={draft}
          maxLength={8000}
          placeholder={`Message ${butlerName}`}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {chat.streaming ? (
          <button type="button" className="danger" onClick={chat.stop}>
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
