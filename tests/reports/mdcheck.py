"""Markdown checks: every document parses, and every table is well formed.

markdown-it pads a short row and drops a long row's extra cells, so the parsed tokens alone
cannot show a broken row: the table's source lines are counted too, cell by cell (GFM splits
cells on every pipe that is not escaped, even inside a code span).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_PIPE = re.compile(r"(?<!\\)\|")
_DELIMITER = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def cells(line: str) -> int:
    inner = line.strip()
    assert inner.startswith("|") and inner.endswith("|"), f"row not fenced by pipes: {line!r}"
    return len(_PIPE.split(inner[1:-1]))


def tables(text: str) -> list[list[str]]:
    """The source lines of each table markdown-it found; asserts each is well formed."""
    tokens = parser().parse(text)
    lines = text.splitlines()
    found = []
    for i, tok in enumerate(tokens):
        if tok.type != "table_open":
            continue
        start, end = tok.map
        rows = lines[start:end]
        width = cells(rows[0])
        assert _DELIMITER.match(rows[1].replace(" ", "")), f"no delimiter row: {rows[1]!r}"
        for row in rows:
            assert cells(row) == width, f"{cells(row)} cells, the header has {width}: {row!r}"
        # the parsed header has as many cells as the source says
        header_cells = 0
        for t in tokens[i:]:
            if t.type == "th_open":
                header_cells += 1
            if t.type == "thead_close":
                break
        assert header_cells == width
        found.append(rows)
    # every delimiter row in the text belongs to a table markdown-it recognised
    delimiters = sum(1 for line in lines if _DELIMITER.match(line.replace(" ", "")))
    assert delimiters == len(found), "a table in the source was not parsed as a table"
    return found


def headings(text: str) -> list[str]:
    tokens = parser().parse(text)
    return [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and tokens[i + 1].type == "inline"
    ]


def check(text: str) -> list[list[str]]:
    """Render to HTML (it must not fail), then check every table; returns the tables."""
    html = parser().render(text)
    found = tables(text)
    assert html.count("<table>") == len(found)
    return found
