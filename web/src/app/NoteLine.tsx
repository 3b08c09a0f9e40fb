import { useEffect, useRef } from "react";

/** A sentence after an action: an error is an alert (read out at once), anything else a status. */
export type Note = { kind: "error" | "info"; text: string } | null;

export function NoteLine({ note }: { note: Note }) {
  const line = useRef<HTMLParagraphElement>(null);
  // On a phone the button that caused it may be the last thing on screen: bring it into view.
  useEffect(() => {
    if (note) line.current?.scrollIntoView?.({ block: "nearest" });
  }, [note]);
  if (!note) return null;
  return (
    <p
      ref={line}
      className={note.kind === "error" ? "error" : "success"}
      role={note.kind === "error" ? "alert" : "status"}
    >
      {note.text}
    </p>
  );
}
