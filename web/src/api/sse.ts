/** An incremental parser for `text/event-stream` bodies (the WHATWG SSE format). */

export interface SseMessage {
  event: string;
  data: string;
}

export class SseParser {
  private pending = "";
  private eventName = "";
  private dataLines: string[] = [];

  /** Feed the next piece of text; returns every message it completed. */
  feed(chunk: string): SseMessage[] {
    let text = this.pending + chunk;
    // A CR at the very end may be the first half of a CRLF split across chunks.
    const heldCr = text.endsWith("\r");
    if (heldCr) text = text.slice(0, -1);
    const lines = text.split(/\r\n|\r|\n/);
    this.pending = (lines.pop() ?? "") + (heldCr ? "\r" : "");
    const messages: SseMessage[] = [];
    for (const line of lines) {
      const message = this.line(line);
      if (message) messages.push(message);
    }
    return messages;
  }

  private line(line: string): SseMessage | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null; // a comment: keep-alives look like this
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") this.dataLines.push(value);
    return null; // `id`, `retry` and unknown fields do not matter to a fetch reader
  }

  private dispatch(): SseMessage | null {
    const hasData = this.dataLines.length > 0;
    const message = { event: this.eventName || "message", data: this.dataLines.join("\n") };
    this.eventName = "";
    this.dataLines = [];
    return hasData ? message : null;
  }
}
