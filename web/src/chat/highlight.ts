import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import css from "highlight.js/lib/languages/css";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

// The languages a household's butler is asked about most (scripts, config, automations);
// the rest stay plain rather than shipping all ~190 grammars to every phone.
const LANGUAGES = { bash, css, javascript, json, python, sql, typescript, xml, yaml };
for (const [name, grammar] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, grammar);

const escapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => escapes[char] ?? char);
}

/** A code block's HTML: highlighted when its language is named and known, or when
 * unnamed but clearly one of them; otherwise the text escaped. */
export function highlightCode(code: string, language: string | undefined): string {
  const name = language?.trim().split(/\s+/)[0]?.toLowerCase();
  if (name && hljs.getLanguage(name)) {
    return `<code class="hljs language-${escapeHtml(name)}">${hljs.highlight(code, { language: name, ignoreIllegals: true }).value}</code>`;
  }
  if (!name) {
    const guess = hljs.highlightAuto(code);
    // A weak guess colours prose as if it were code: better left plain.
    if (guess.language && guess.relevance >= 5) {
      return `<code class="hljs language-${guess.language}">${guess.value}</code>`;
    }
  }
  return `<code>${escapeHtml(code)}</code>`;
}
