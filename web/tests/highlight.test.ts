import { describe, expect, it } from "vitest";
import { highlightCode } from "../src/chat/highlight";

describe("code highlighting", () => {
  it("colours a named language's keywords, strings and comments", () => {
    const html = highlightCode('def greet(name):\n    # say hello\n    return "hi " + name', "python");
    expect(html).toMatch(/^<code class="hljs language-python">/);
    expect(html).toContain('<span class="hljs-keyword">def</span>');
    expect(html).toContain('<span class="hljs-string">&quot;hi &quot;</span>');
    expect(html).toContain('<span class="hljs-comment"># say hello</span>');
  });

  it("takes the first word of an info string, in any case", () => {
    expect(highlightCode("SELECT 1", "SQL title=x")).toContain('class="hljs language-sql"');
  });

  it("escapes the text of an unknown language instead of colouring it", () => {
    const html = highlightCode('<img src=x onerror="alert(1)">', "brainfuck");
    expect(html).toBe("<code>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</code>");
  });

  it("never emits the code's own markup when highlighting", () => {
    const html = highlightCode('const s = "<script>alert(1)</script>";', "typescript");
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;");
  });

  it("guesses an unnamed block only when the guess is strong", () => {
    const json = highlightCode('{\n  "lights": ["kitchen", "hall"],\n  "brightness": 40,\n  "on": true\n}', undefined);
    expect(json).toContain("hljs-attr");
    expect(highlightCode("buy milk and eggs", undefined)).toBe("<code>buy milk and eggs</code>");
  });
});
