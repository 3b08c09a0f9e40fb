"""The LLM's Markdown as WhatsApp text, and long replies split into messages.

WhatsApp has its own small markup: `*bold*`, `_italic_`, `~strike~`, `` `code` ``,
```` ``` ```` blocks and `> ` quotes; nothing else renders, so Markdown's headings, links,
lists and tables become plain text that reads well. The conversion is deliberately
conservative: a delimiter only counts as emphasis at a word boundary, and URLs, file
paths and code are set aside first, so `2*3*4`, snake_case_words or `/tmp/my_file` come
through as written. It works line by line (WhatsApp's markup does not span lines) and is
made of regular expressions with bounded spans, so it stays linear on long replies; if a
rule ever failed, the reply would go out as written rather than not at all.
"""

from __future__ import annotations

import bisect
import logging
import re
import unicodedata

logger = logging.getLogger(__name__)

WHATSAPP_TEXT_LIMIT = 4096

# Private-use characters stand for what has already been converted: a protected piece
# (placeholder `\ue000<n>\ue001`) and WhatsApp's bold, italic and strike markers, so the
# emphasis patterns never see their own output. Such characters already in the input
# are protected like code, so they come back unchanged.
_HOLD, _END, _BOLD, _ITALIC, _STRIKE = "\ue000", "\ue001", "\ue002", "\ue003", "\ue004"
_MARKERS = str.maketrans({_BOLD: "*", _ITALIC: "_", _STRIKE: "~"})
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")

# Emphasis spans are bounded so a long line full of stray asterisks stays linear.
_SPAN = r"(.{1,1000}?)"
# `*` may open after anything but a letter, digit, `*` or `/` (so `2*3*4` and
# `src/*.py` stay) and close before anything but those; `_` never works inside a word
# (snake_case) nor before `(`, `.py` or `/x` (`__init__.py`, `__init__()`).
_EMPHASIS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (
            r"(?<![A-Za-z0-9*/])\*\*\*(?![\s*])" + _SPAN + r"(?<![\s*])\*\*\*(?![A-Za-z0-9*])",
            _BOLD + _ITALIC + r"\1" + _ITALIC + _BOLD,
        ),
        (
            r"(?<![A-Za-z0-9*/])\*\*(?![\s*])" + _SPAN + r"(?<!\s)\*\*(?![A-Za-z0-9*])",
            _BOLD + r"\1" + _BOLD,
        ),
        (
            r"(?<!\w)__(?![\s_])" + _SPAN + r"(?<![\s_])__(?![\w(])(?![./:-]\w)",
            _BOLD + r"\1" + _BOLD,
        ),
        (
            r"(?<![A-Za-z0-9*/])\*(?![\s*])" + _SPAN + r"(?<![\s*])\*(?![A-Za-z0-9*])",
            _ITALIC + r"\1" + _ITALIC,
        ),
        (
            r"(?<!\w)_(?![\s_])" + _SPAN + r"(?<![\s_])_(?![\w(])(?![./:-]\w)",
            _ITALIC + r"\1" + _ITALIC,
        ),
        (r"(?<!~)~~(?![\s~])" + _SPAN + r"(?<![\s~])~~(?!~)", _STRIKE + r"\1" + _STRIKE),
    )
)

# A link's text may hold one level of brackets; its destination one level of
# parentheses (Wikipedia's `Foo_(bar)`), optionally in <>, with an optional title.
_LABEL = r"(?:[^\[\]\\]|\\.|\[[^\[\]]*\])*"


def _destination(name: str) -> str:
    return (
        rf"\(\s*(?:<(?P<{name}_a>[^<>\n]*)>|(?P<{name}_b>(?:[^\s()]|\([^\s()]*\))+))"
        r"""(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)"""
    )


_PATH_CHARS = r"[\w.@%+=:,~-]"
_PROTECT = re.compile(
    r"(?P<sentinel>[\ue000-\ue004])"
    r"|(?P<code>(?<!`)(?P<ticks>`+)(?P<code_body>.{1,1000}?)(?<!`)(?P=ticks)(?!`))"
    rf"|(?P<image>!\[(?P<alt>{_LABEL})\]{_destination('img')})"
    rf"|(?P<link>\[(?P<label>{_LABEL})\]{_destination('dest')})"
    r"|<(?P<autolink>(?:https?|ftp|mailto|tel):[^\s<>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>"
    r"|(?P<url>(?<![\w/@])(?:https?://|ftp://|www\.)[^\s<>`]+)"
    r"|(?P<path>(?<![\w/\\])(?:[A-Za-z]:\\[^\s`]+"
    rf"|(?:~|\.{{1,2}})?(?:/{_PATH_CHARS}+)+/?|[^\W_]{_PATH_CHARS}*(?:/{_PATH_CHARS}+)+/?))"
    r"|\\(?P<escape>[!-/:-@\[-`{-~])"
)
# Left at the end of a bare URL or path they are the sentence's, not the address's.
_TRAILING = ".,:;!?'\"*_~"

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}(?=[^`]*$)|~{3,})")
_FENCE_CLOSE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+(?P<title>.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^[ \t]{0,3}(?:=+|-+)[ \t]*$")
_RULE = re.compile(r"^[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+(?P<rest>.*)$")
_BULLET = re.compile(r"^(?P<indent>[ \t]*)[-*+][ \t]+(?P<rest>.*)$")
_TASK = re.compile(r"^\[(?P<mark>[ xX])\][ \t]+")
_NUMBERED = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>\d{1,9}[.)])[ \t]+(?P<rest>.*)$")
_TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)*[ \t]*:?-+:?[ \t]*\|?[ \t]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def to_whatsapp(markdown: str) -> str:
    """`markdown` (an LLM's reply) as WhatsApp-formatted text; never raises."""
    try:
        return _convert(markdown)
    except Exception:  # a reply must always be sendable, even if a rule here is wrong
        logger.exception("could not convert a reply to WhatsApp formatting")
        return markdown.strip() if isinstance(markdown, str) else ""


def _convert(markdown: str) -> str:
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[tuple[str, bool]] = []  # (line, is code)
    prose: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if opening is None:
            prose.append(lines[i])
            i += 1
            continue
        out.extend((line, False) for line in _convert_prose(prose))
        prose = []
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = _FENCE_CLOSE.match(lines[i])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence):
                break
            # Inside a list the fence is indented and so is its content, by as much.
            body.append(re.sub(rf"^ {{0,{indent}}}", "", lines[i]) if indent else lines[i])
            i += 1
        i += 1  # the closing fence, or past the end: an unclosed block runs to the end
        if any(line.strip() for line in body):  # WhatsApp shows an empty block as ``````
            out.extend((line, True) for line in ["```", *body, "```"])
    out.extend((line, False) for line in _convert_prose(prose))

    kept: list[str] = []
    blank_run = 0
    for line, is_code in out:
        if is_code:
            kept.append(line)
            blank_run = 0
        elif line.strip():
            kept.append(line.rstrip())
            blank_run = 0
        else:
            blank_run += 1
            if blank_run == 1:  # a paragraph break; more is just empty space on a phone
                kept.append("")
    return "\n".join(kept).strip()


def _convert_prose(lines: list[str]) -> list[str]:
    out: list[str] = []
    after_paragraph = False  # the previous line was plain text a setext underline can title
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_table_start(lines, i):
            out.append(_table_row(line))
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                if not _TABLE_SEPARATOR.match(lines[i]):
                    out.append(_table_row(lines[i]))
                i += 1
            after_paragraph = False
            continue
        i += 1
        if after_paragraph and _SETEXT.match(line):
            out[-1] = _heading(lines[i - 2].strip())
            after_paragraph = False
            continue
        converted, after_paragraph = _convert_line(line)
        if converted is not None:
            out.append(converted)
    return out


def _convert_line(line: str) -> tuple[str | None, bool]:
    """The line converted (None: dropped) and whether it is a paragraph line."""
    if _RULE.match(line):
        return None, False
    if heading := _HEADING.match(line):
        title = heading["title"] or ""
        return (_heading(title) if title.strip() else None), False
    if quote := _QUOTE.match(line):
        # WhatsApp quotes one level deep and needs text after "> ".
        inner, _ = _convert_line(quote["rest"])
        return (f"> {inner.strip()}" if inner and inner.strip() else ""), False
    if bullet := _BULLET.match(line):
        rest = bullet["rest"]
        marker = "• "
        if task := _TASK.match(rest):
            marker = "☐ " if task["mark"] == " " else "☑ "
            rest = rest[task.end() :]
        return bullet["indent"] + marker + _inline(rest), False
    if numbered := _NUMBERED.match(line):
        return f"{numbered['indent']}{numbered['marker']} {_inline(numbered['rest'])}", False
    return _inline(line), bool(line.strip())


def _heading(title: str) -> str:
    # The whole line is bold; bold inside it would only switch bold off.
    text = _inline(title, keep_bold=False).strip()
    return f"*{text}*" if text else ""


def _is_table_start(lines: list[str], i: int) -> bool:
    return (
        i + 1 < len(lines)
        and "|" in lines[i]
        and "|" in lines[i + 1]
        and _TABLE_SEPARATOR.match(lines[i + 1]) is not None
    )


def _table_row(line: str) -> str:
    row = line.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    # Empty cells would read as " ·  · "; the row is a sentence now, not a grid.
    cells = (_inline(cell.strip().replace("\\|", "|")) for cell in _CELL_SPLIT.split(row))
    return " · ".join(cell for cell in cells if cell)


def _inline(text: str, *, keep_bold: bool = True) -> str:
    """One line's inline Markdown as WhatsApp's."""
    held: list[str] = []

    def hold(piece: str) -> str:
        held.append(piece)
        return f"{_HOLD}{len(held) - 1}{_END}"

    def protect(match: re.Match[str]) -> str:
        kind = match.lastgroup
        if kind == "code":
            body = match["code_body"]
            if len(body) > 2 and body.startswith(" ") and body.endswith(" ") and body.strip():
                body = body[1:-1]  # Markdown's padding around code that starts with `
            return hold(f"`{body}`")
        if kind == "image" or kind == "link":
            name = "img" if kind == "image" else "dest"
            label = match["alt"] if kind == "image" else match["label"]
            url = match[f"{name}_a"] or match[f"{name}_b"] or ""
            return hold(_link(label, url.strip()))
        if kind in ("url", "path"):
            whole = match[kind]
            address = _trim(whole)
            return hold(address) + whole[len(address) :] if address else whole
        if kind == "autolink":
            return hold(match["autolink"].removeprefix("mailto:"))
        if kind == "escape":
            return hold(match["escape"])
        return hold(match[0])  # a private-use character of the input: as it is

    converted = _PROTECT.sub(protect, text)
    for pattern, replacement in _EMPHASIS:
        converted = pattern.sub(replacement, converted)
    if not keep_bold:
        converted = converted.replace(_BOLD, "")
    converted = converted.translate(_MARKERS)
    return _PLACEHOLDER.sub(lambda m: held[int(m[1])], converted)


def _link(label: str, url: str) -> str:
    text = _inline(label).strip()
    if url.startswith("#") or not url:  # an anchor in a page WhatsApp does not show
        return text
    if not text or _bare(text) == _bare(url):
        return url.removeprefix("mailto:").removeprefix("tel:")
    return f"{text} ({url})"


def _bare(address: str) -> str:
    address = re.sub(r"^(?:[a-z][a-z0-9+.-]*:(?://)?)", "", address.strip().lower())
    return address.removeprefix("www.").rstrip("/")


def _trim(address: str) -> str:
    """A bare URL or path without the punctuation that ends the sentence around it."""
    end, unopened = len(address), address.count(")") - address.count("(")
    while end and (address[end - 1] in _TRAILING or (address[end - 1] == ")" and unopened > 0)):
        unopened -= address[end - 1] == ")"
        end -= 1
    return address[:end]


# --- splitting --------------------------------------------------------------------------

# A line that opens or closes a code block (```` ```x``` ```` on one line does neither).
_FENCE_LINE = re.compile(r"^[ \t]*```(?!.*```).*$", re.MULTILINE)
_REOPEN, _RECLOSE = "```\n", "\n```"
# Below this the fences added around a cut code block would leave no room for its text.
_MIN_LIMIT_FOR_FENCES = 12
_NEWLINES, _SPACE = re.compile(r"\n*"), re.compile(r"\s*")

# Where to cut, best first: (pattern, cut after the match rather than before, inside code).
_CUTS: tuple[tuple[re.Pattern[str], bool, bool], ...] = (
    (re.compile(r"\n[ \t]*\n"), False, False),  # paragraph break
    (re.compile(r"\n"), False, False),  # line break
    (re.compile(r"\n"), False, True),  # line break in code: it gets closed and reopened
    (re.compile(r"[.!?…][)\]\"'»\u201d\u2019]*(?=\s)"), True, False),  # sentence end
    (re.compile(r"[ \t]"), False, False),  # between words
    (re.compile(r"[ \t]"), False, True),
)


def split_message(text: str, limit: int = WHATSAPP_TEXT_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` characters, each stripped and non-empty.

    Length counts UTF-16 code units (an emoji beyond U+FFFF counts 2), as messaging
    services do; that is never less than `len()`, so each part fits either way. A part
    is cut at a paragraph break, else a line break, a sentence end, a space, and only
    then anywhere outside a character cluster. A code block that has to be cut is closed
    at the end of one part and reopened at the start of the next, within the limit.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    text = text.strip()
    fences = _Fences(text, enabled=limit >= _MIN_LIMIT_FOR_FENCES)
    parts: list[str] = []
    pos = 0
    while pos < len(text):
        prefix = _REOPEN if fences.inside(pos) else ""
        budget = limit - len(prefix)
        end_out = _fit(text, pos, budget)
        if end_out == len(text):
            if part := (prefix + text[pos:]).strip():
                parts.append(part)
            break
        end_in = _fit(text, pos, budget - len(_RECLOSE)) if fences.enabled else end_out
        first = _skip(_SPACE, text, pos)  # past a reopened block's blank indentation
        if first > pos and first >= end_in:  # only blank code lines fit: skip them
            pos = first
            continue
        cut = None
        block = fences.block_around(end_out, len(text))
        if block and _fit(text, block[0], limit) >= block[1]:
            # The block would fit whole in the next part: cut before it, however early.
            cut = _best_cut(text, fences, first, min(end_out, block[0]), end_in, fill=False)
        if cut is None:
            cut = _best_cut(text, fences, first, end_out, end_in)
        if cut is None:
            cut = _hard_cut(text, fences, first, end_out, end_in)
        closing = fences.inside(cut)
        parts.append((prefix + text[pos:cut].rstrip() + (_RECLOSE if closing else "")).strip())
        pos = cut
        if closing:
            # Keep the next code line's indentation but not the blank lines before it;
            # if the block's own closing fence comes next, this part has closed it.
            pos = _skip(_NEWLINES, text, pos)
            pos = fences.line_end(pos) or pos
        if not fences.inside(pos):
            pos = _skip(_SPACE, text, pos)
    return parts


class _Fences:
    """The fence lines of a text, to tell whether a cut falls inside a code block."""

    def __init__(self, text: str, *, enabled: bool) -> None:
        self.enabled = enabled
        lines = [(m.start(), m.end()) for m in _FENCE_LINE.finditer(text)] if enabled else []
        self._starts = [start for start, _ in lines]
        self._ends = [end for _, end in lines]

    def inside(self, p: int) -> bool:
        """Whether a cut before text[p] is inside a code block."""
        return bisect.bisect_right(self._ends, p) % 2 == 1

    def through_line(self, p: int) -> bool:
        """Whether a cut before text[p] would go through a fence line."""
        i = bisect.bisect_left(self._starts, p) - 1
        return i >= 0 and self._ends[i] > p

    def block_around(self, p: int, text_end: int) -> tuple[int, int] | None:
        """Where the code block around a cut before text[p] starts and ends, if any."""
        i = bisect.bisect_right(self._ends, p)
        if i % 2 == 0:
            return None
        return self._starts[i - 1], self._ends[i] if i < len(self._ends) else text_end

    def line_end(self, p: int) -> int | None:
        """The end of the fence line that starts at p, if one does."""
        i = bisect.bisect_left(self._starts, p)
        return self._ends[i] if i < len(self._starts) and self._starts[i] == p else None


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    match = pattern.match(text, pos)
    return match.end() if match else pos


def _fit(text: str, start: int, budget: int) -> int:
    """The largest end such that text[start:end] is at most `budget` UTF-16 units."""
    chunk = text[start : start + max(budget, 0)]
    if not chunk or max(chunk) <= "\uffff":
        return start + len(chunk)
    used = 0
    for offset, char in enumerate(chunk):
        used += 2 if char > "\uffff" else 1
        if used > budget:
            return start + offset
    return start + len(chunk)


def _best_cut(
    text: str, fences: _Fences, first: int, end_out: int, end_in: int, *, fill: bool = True
) -> int | None:
    def fits(p: int, code: bool) -> bool:
        return (
            first < p <= (end_in if code else end_out)
            and fences.inside(p) == code
            and not fences.through_line(p)
        )

    # A better kind of break wins unless it leaves the part under a third full; then the
    # latest break of any kind beats cutting through a word.
    enough = first + (end_out - first) // 3 if fill else first
    latest: int | None = None
    for pattern, after, code in _CUTS:
        best: int | None = None
        for match in pattern.finditer(text, first, end_out + 1):
            p = match.end() if after else match.start()
            if fits(p, code):
                best = p
        if best is not None:
            if best >= enough:
                return best
            latest = best if latest is None else max(latest, best)
    return latest


def _hard_cut(text: str, fences: _Fences, first: int, end_out: int, end_in: int) -> int:
    cut = end_in if fences.inside(end_out) else end_out
    if fences.through_line(cut):  # before the fence line rather than through it
        back = text.rfind("\n", first, cut)
        cut = back if back > first else cut
    if cut <= first:  # a character wider than the whole limit: it goes anyway
        return first + 1
    for back in range(cut, max(first, cut - 16), -1):
        if not _joins(text, back):
            return back
    return cut


def _joins(text: str, p: int) -> bool:
    """Whether cutting before text[p] would split a character or an emoji sequence."""
    before, after = text[p - 1], text[p]
    if "\ud800" <= before <= "\udbff" and "\udc00" <= after <= "\udfff":
        return True  # the halves of a surrogate pair (lone surrogates from bad input)
    if before == "\u200d" or after in "\u200d\ufe0e\ufe0f" or "\U0001f3fb" <= after <= "\U0001f3ff":
        return True  # zero-width joiner, variation selector, skin tone
    if "\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff":
        return True  # the two regional indicators of a flag
    return "\U000e0020" <= after <= "\U000e007f" or unicodedata.category(after).startswith("M")
