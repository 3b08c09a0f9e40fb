"""Markdown to WhatsApp's formatting, and long replies split into messages that fit."""

from __future__ import annotations

import logging
import random
import re

import pytest

from butler.channels.whatsapp import formatting
from butler.channels.whatsapp.formatting import WHATSAPP_TEXT_LIMIT, split_message, to_whatsapp

FENCE_LINE = re.compile(r"^[ \t]*```(?!.*```).*$", re.MULTILINE)


@pytest.mark.parametrize(
    ("markdown", "whatsapp"),
    [
        ("**bold**", "*bold*"),
        ("__bold__", "*bold*"),
        ("a **bold move** here", "a *bold move* here"),
        ("*italic*", "_italic_"),
        ("_italic_", "_italic_"),
        ("***both***", "*_both_*"),
        ("~~gone~~", "~gone~"),
        ("`x`", "`x`"),
        ("run `ls **/*.py` now", "run `ls **/*.py` now"),
        ("``a`b``", "`a`b`"),
        ("**bold with _italic_ inside**", "*bold with _italic_ inside*"),
        ("*italic with **bold** inside*", "_italic with *bold* inside_"),
        ('**Note:** done, (*really*) "**yes**".', '*Note:* done, (_really_) "*yes*".'),
        ("**粗体**文字", "*粗体*文字"),
    ],
)
def test_inline_formatting(markdown: str, whatsapp: str) -> None:
    assert to_whatsapp(markdown) == whatsapp


@pytest.mark.parametrize(
    ("markdown", "whatsapp"),
    [
        ("# Title", "*Title*"),
        ("### Closed heading ###", "*Closed heading*"),
        ("## A **bold** word", "*A bold word*"),
        ("Setext\n======", "*Setext*"),
        ("#", ""),
        ("#hashtag", "#hashtag"),
    ],
)
def test_headings_become_bold_lines(markdown: str, whatsapp: str) -> None:
    assert to_whatsapp(markdown) == whatsapp


@pytest.mark.parametrize(
    ("markdown", "whatsapp"),
    [
        ("[the docs](https://example.com/a_b)", "the docs (https://example.com/a_b)"),
        ("[https://example.com](https://example.com)", "https://example.com"),
        ("[example.com](https://example.com/)", "https://example.com/"),
        ("[](https://example.com)", "https://example.com"),
        (
            '[Foo](https://en.wikipedia.org/wiki/Foo_(bar) "title")',
            "Foo (https://en.wikipedia.org/wiki/Foo_(bar))",
        ),
        ("[**Bold** link](https://x.org)", "*Bold* link (https://x.org)"),
        ("[mail me](mailto:me@example.com)", "mail me (mailto:me@example.com)"),
        ("[me@example.com](mailto:me@example.com)", "me@example.com"),
        ("[that section](#usage)", "that section"),
        ("<https://example.com/a_b_c>", "https://example.com/a_b_c"),
        ("![a cat](https://img.example/cat_1.png)", "a cat (https://img.example/cat_1.png)"),
        ("![](https://img.example/cat.png)", "https://img.example/cat.png"),
    ],
)
def test_links_and_images_show_their_address(markdown: str, whatsapp: str) -> None:
    assert to_whatsapp(markdown) == whatsapp


def test_lists_quotes_and_rules() -> None:
    markdown = (
        "- dash\n* star\n+ plus\n  - nested **bold**\n- [ ] to do\n- [x] done\n"
        "1. one\n2) two\n\n> quoted *words*\n>> nested quote\n\n---\n\n* * *\n___\nend"
    )
    assert to_whatsapp(markdown) == (
        "• dash\n• star\n• plus\n  • nested *bold*\n☐ to do\n☑ done\n"
        "1. one\n2) two\n\n> quoted _words_\n> nested quote\n\nend"
    )


def test_tables_become_lines_of_cells() -> None:
    markdown = (
        "Prices:\n\n| Item | **Price** |\n|:-----|------:|\n| Tea | 2 |\n| `a\\|b` | |\n\nAfter"
    )
    assert to_whatsapp(markdown) == "Prices:\n\nItem · *Price*\nTea · 2\n`a|b`\n\nAfter"


def test_a_pipe_in_prose_is_not_a_table() -> None:
    assert to_whatsapp("yes | no\nmaybe") == "yes | no\nmaybe"


def test_blank_lines_collapse_and_trailing_whitespace_goes() -> None:
    assert to_whatsapp("\n\none  \n\n\n\n\ntwo\t\nthree   \n\n") == "one\n\ntwo\nthree"
    assert to_whatsapp("a\r\n\r\nb") == "a\n\nb"


def test_fenced_code_keeps_its_content_and_loses_its_language() -> None:
    code = "def f(**kw):\n    # not a heading\n    return a_b * 2  # *not* _italic_  \n\n\n\n- x"
    markdown = f"Look:\n```python\n{code}\n```\nafter **this**"
    assert to_whatsapp(markdown) == f"Look:\n```\n{code}\n```\nafter *this*"


def test_other_fences_and_unclosed_blocks() -> None:
    assert to_whatsapp("~~~\n# x\n~~~") == "```\n# x\n```"
    assert to_whatsapp("````\n```\ninner\n```\n````") == "```\n```\ninner\n```\n```"
    assert to_whatsapp("text\n```sh\nrm -rf **tmp**") == "text\n```\nrm -rf **tmp**\n```"
    assert to_whatsapp("- item\n  ```\n  code\n    more\n  ```") == "• item\n```\ncode\n  more\n```"
    assert to_whatsapp("before\n```\n\n```\nafter") == "before\nafter"  # nothing to show


@pytest.mark.parametrize(
    "text",
    [
        "2*3*4 = 24",
        "a * b * c",
        "x*y*z",
        "snake_case_words and more_snake_case",
        "__init__.py and __init__() and foo__bar__baz",
        "/usr/local/my_file_name.py",
        "src/butler/__pycache__/x_y.pyc",
        "~/my_dir/_private_/x",
        "C:\\Users\\my_name\\_x_\\file.txt",
        "https://example.com/some_path_here?q=a*b*c_",
        "see https://example.com/a_b_c/*x*/ now",
        "www.example.com/a_b_c.",
        "src/*.py and tests/*.py",
        "def f(*args, **kwargs)",
        "char *p and *q",
        "5 stars* and 3 stars*",
        "~5 minutes, ~10 tops",
        "email first_last@example.com",
        "+1 for this, -2 for that",
        "#1 priority",
        "1.5x faster, 2024. Big year.",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert to_whatsapp(text) == text


def test_emphasis_around_protected_text_still_converts() -> None:
    assert to_whatsapp("**https://x.org/a_b**") == "*https://x.org/a_b*"
    assert to_whatsapp("_see /etc/my_conf_") == "_see /etc/my_conf_"
    assert to_whatsapp("Go to https://x.org/a_b.") == "Go to https://x.org/a_b."
    assert to_whatsapp("(see https://x.org/a)") == "(see https://x.org/a)"


def test_escapes_give_the_literal_character() -> None:
    assert to_whatsapp(r"\# not a heading, \*not italic\*") == "# not a heading, *not italic*"


def test_private_use_characters_of_the_input_survive() -> None:
    text = "\ue000 0\ue001 \ue002x\ue002 **b**"
    assert to_whatsapp(text) == "\ue000 0\ue001 \ue002x\ue002 *b*"


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_random_text_never_raises() -> None:
    # to_whatsapp would hide an exception behind its fallback; the log shows it.
    errors = _Errors()
    formatting.logger.addHandler(errors)
    rng = random.Random(1234)
    alphabet = [*"*_~`#>|-+[]()!<>:/\\. \n\t\r=ab1é", "```", "**", "__", "http://", "\ud83d"]
    alphabet += ["😀", "\u200d", "\u0301", "\ue000", "\ue002", "| --- |", "- [ ] ", "1. "]
    try:
        for _ in range(1500):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
            result = to_whatsapp(text)
            assert isinstance(result, str)
            if not re.search("[\ue000-\ue004]", text):
                assert not re.search("[\ue000-\ue004]", result), repr(text)
            for part in split_message(result, rng.choice([1, 5, 12, 30])):
                assert part and part == part.strip()
    finally:
        formatting.logger.removeHandler(errors)
    assert not errors.records


def test_long_lines_of_markup_stay_fast() -> None:
    for text in ("*a " * 5000, "_a " * 5000, "`a " * 5000, "[" * 5000 + "](", "~~a " * 5000):
        assert to_whatsapp(text)


# --- splitting --------------------------------------------------------------------------


def test_short_and_empty_texts() -> None:
    assert split_message("") == []
    assert split_message(" \n\n\t ") == []
    assert split_message("  hello  ") == ["hello"]
    assert split_message("x" * WHATSAPP_TEXT_LIMIT) == ["x" * WHATSAPP_TEXT_LIMIT]
    with pytest.raises(ValueError):
        split_message("x", 0)


def test_paragraph_breaks_come_before_line_breaks_and_sentences() -> None:
    text = "First paragraph here.\nSecond line. More.\n\nNext paragraph."
    assert split_message(text, 45) == [
        "First paragraph here.\nSecond line. More.",
        "Next paragraph.",
    ]
    assert split_message("One. Two three four. Five", 22) == ["One. Two three four.", "Five"]
    assert split_message("aaaa bbbb cccc", 10) == ["aaaa bbbb", "cccc"]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_characters_and_emoji_sequences_stay_whole() -> None:
    family = "👨\u200d👩\u200d👧"  # 8 UTF-16 units
    parts = split_message(family * 5, 20)
    assert "".join(parts) == family * 5
    assert all(part.count(family) * len(family) == len(part) for part in parts)
    assert split_message("😀" * 5, 4) == ["😀😀"] * 2 + ["😀"]  # an emoji counts 2
    pairs = "\ud83d\ude00" * 5  # surrogate halves from badly decoded input
    assert all(part == "\ud83d\ude00" for part in split_message(pairs, 3))
    accented = "e\u0301" * 6
    assert all(part == "e\u0301" * 2 for part in split_message(accented, 5))


def test_a_cut_code_block_is_closed_and_reopened() -> None:
    lines = [f"    line_{i} = value * {i}" for i in range(12)]
    text = "Here:\n\n```\n" + "\n".join(lines) + "\n```\n\nDone."
    parts = split_message(text, 120)
    assert len(parts) > 2
    assert parts[0].startswith("Here:\n\n```\n")
    assert all(part.endswith("```") for part in parts[:-1])
    assert all(part.startswith("```\n    line_") for part in parts[1:])
    assert parts[-1].endswith("```\n\nDone.")
    code = [line for part in parts for line in part.split("\n") if line.startswith("    ")]
    assert code == lines  # indentation kept, nothing lost or repeated


def test_a_code_block_moves_whole_to_the_next_part_when_it_fits() -> None:
    text = "Intro sentence here.\n\n```\n" + "x = 1\n" * 8 + "```"
    parts = split_message(text, 70)
    assert parts == ["Intro sentence here.", "```\n" + "x = 1\n" * 8 + "```"]


def _generated_text(rng: random.Random) -> str:
    words = ["the", "butler", "lights", "kitchen", "snake_case", "2*3", "é", "😀", "done."]
    words += ["Really?", "yes!", "(maybe)", "https://x.org/a_b", "💡", "naïve", "…"]
    blocks: list[str] = []
    for _ in range(rng.randint(5, 40)):
        kind = rng.random()
        if kind < 0.5:
            blocks.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 300))))
        elif kind < 0.7:
            blocks.append("\n".join(f"• {rng.choice(words)} {rng.choice(words)}" for _ in range(9)))
        else:
            code = [
                " " * rng.choice([0, 4])
                + " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
                for _ in range(rng.randint(1, 60))
            ]
            blocks.append("```\n" + "\n".join(code) + "\n```")
    return ("\n" * rng.choice([1, 2])).join(blocks)


def _words(parts: list[str]) -> list[str]:
    return [word for part in parts for word in part.split() if word != "```"]


@pytest.mark.parametrize("limit", [40, 97, 500, WHATSAPP_TEXT_LIMIT])
def test_split_properties_on_generated_texts(limit: int) -> None:
    rng = random.Random(limit)
    for _ in range(12):
        text = _generated_text(rng)
        parts = split_message(text, limit)
        for part in parts:
            assert part and part == part.strip()
            assert len(part.encode("utf-16-le")) // 2 <= limit
            assert len(FENCE_LINE.findall(part)) % 2 == 0, part
        assert _words(parts) == _words([text])
        if len(text) <= limit:
            assert parts == [text.strip()]


def test_split_converted_replies() -> None:
    reply = (
        "# Plan\n\n"
        + "Some **bold** text and `code`. " * 200
        + "\n\n```py\n"
        + "x = 1\n" * 900
        + "```"
    )
    parts = split_message(to_whatsapp(reply))
    assert len(parts) > 2
    assert all(len(part) <= WHATSAPP_TEXT_LIMIT for part in parts)
    assert all(len(FENCE_LINE.findall(part)) % 2 == 0 for part in parts)
