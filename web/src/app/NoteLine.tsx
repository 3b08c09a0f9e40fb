/** A sentence after an action: an error is an alert (read out at once), anything else a status. */
export type Note = { kind: "error" | "info"; text: string } | null;

export function NoteLine({ note }: { note: Note }) {
  if (!note) return null;
  return (
    <p className={note.kind === "error" ? "error" : "success"} role={note.kind === "error" ? "alert" : "status"}>
      {note.text}
    </p>
  );
}
