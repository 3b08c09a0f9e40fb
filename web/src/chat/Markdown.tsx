import DOMPurify from "dompurify";
import { Marked } from "marked";
import { type MouseEvent, useMemo } from "react";
import { highlightCode } from "./highlight";

// Code blocks are coloured here, before sanitising: the highlighter's spans and classes
// pass DOMPurify like any other markup, so nothing it emits is trusted either.
const markdown = new Marked({
  async: false,
  gfm: true,
  breaks: true,
  renderer: {
    code({ text, lang }) {
      return `<pre>${highlightCode(text.replace(/\n$/, ""), lang)}</pre>\n`;
    },
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  // Links from a reply open elsewhere and cannot reach back into the app.
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const COPY_CODE = '<button type="button" class="quiet small copy-code">Copy code</button>';

/** Each code block gets a Copy button: added after sanitising, so it is our markup only. */
function withCopyButtons(html: string): string {
  return html.replaceAll("<pre>", `<div class="code-block">${COPY_CODE}<pre>`).replaceAll("</pre>", "</pre></div>");
}

async function copyCode(event: MouseEvent<HTMLDivElement>): Promise<void> {
  const button = (event.target as HTMLElement).closest("button.copy-code");
  const code = button?.parentElement?.querySelector("pre")?.textContent;
  if (!button || code == null) return;
  await navigator.clipboard.writeText(code);
  button.textContent = "Copied";
  window.setTimeout(() => (button.textContent = "Copy code"), 2000);
}

/** A reply's markdown as sanitised HTML: the model's text is never trusted markup. */
export function Markdown({ text }: { text: string }) {
  const html = useMemo(
    () =>
      withCopyButtons(
        DOMPurify.sanitize(markdown.parse(text, { async: false }), {
          FORBID_TAGS: ["style", "form", "input", "button", "img"],
        }),
      ),
    [text],
  );
  return (
    <div
      className="markdown"
      onClick={(event) => void copyCode(event).catch(() => {})}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
