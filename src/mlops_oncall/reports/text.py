"""Small formatters shared by the documents: UTC times, durations, percentages, Markdown cells.

Documents are always in UTC (the postmortem convention), whatever the workspace's display zone.
"""

from __future__ import annotations

import re

from mlops_oncall.formats.durations import format_duration

# the documents' names for the UTC forms: 2026-11-26 22:40:00 UTC, 2026-11-26 22:40 UTC,
# 22:40:05, 2026-11-26
from mlops_oncall.formats.timestamps import utc_clock as clock_time  # noqa: F401
from mlops_oncall.formats.timestamps import utc_day as day  # noqa: F401
from mlops_oncall.formats.timestamps import utc_minute as ts_minute  # noqa: F401
from mlops_oncall.formats.timestamps import utc_stamp as ts_utc  # noqa: F401

NONE = "–"  # shown where a value is missing; never 0, which would be a claim
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")


def duration(seconds: float | None) -> str:
    return NONE if seconds is None else format_duration(seconds)


def percent(share: float | None, digits: int = 3) -> str:
    """0.979166 -> '97.917%'; trailing zeros dropped so 1.0 reads '100%'."""
    if share is None:
        return NONE
    text = f"{share * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}%"


# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that
# reorder what a reader sees (Trojan Source): none is ever printed as it is
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # what could open an HTML tag, comment or declaration
_SPAN = re.compile(r"(`+)(.+?)\1")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# a line that would start a heading, quote, list or thematic break
_BLOCK_START = re.compile(
    r"^(\s*)(?:(#|>|[-+*](?=\s|$)|([-*_])(?=\s*\3\s*\3))|\d{1,9}(?=[.)](?:\s|$)))"
)


def terminal_text(text: str) -> str:
    """Stored text made safe to print: escape sequences (ESC, CSI, OSC), other control
    characters and bidi overrides are shown as `\\x1b`, `\\u202e`, never sent to the terminal.
    Tabs and newlines are kept."""
    return _CONTROLS.sub(_visible, text.replace("\r\n", "\n"))


def _visible(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _no_tags(line: str) -> str:
    """`<` that could open raw HTML written as `&lt;`, outside code spans (kept verbatim)."""
    out, last = [], 0
    for m in _SPAN.finditer(line):
        out.append(_TAG.sub("&lt;", line[last : m.start()]))
        out.append(m.group())
        last = m.end()
    out.append(_TAG.sub("&lt;", line[last:]))
    return "".join(out)


def md_text(text: str | None) -> str:
    """Markdown written by a responder, made safe inside a document: no raw HTML (so no
    `<script>` or `</details>`) outside code, and no control characters."""
    if not text:
        return ""
    lines, fenced = [], False
    for line in terminal_text(text).splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            lines.append(line)
        else:
            lines.append(line if fenced else _no_tags(line))
    return "\n".join(lines)


def _joined(text: str) -> str:
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


def one_line(text: str | None) -> str:
    """A text made one inline line of Markdown (list items, headings and table cells hold
    one line): newlines joined with ` / `, no raw HTML, and a leading `#`, `>`, `-`, `1.`
    escaped so that it cannot start a heading, quote or list."""
    if not text:
        return ""
    return _BLOCK_START.sub(_escape_start, _inline(str(text)), count=1)


def _inline(text: str) -> str:
    return _no_tags(terminal_text(_joined(text)))


def _escape_start(m: re.Match) -> str:
    if m.group(2):  # a marker: escape it
        return f"{m.group(1)}\\{m.group(2)}"
    return f"{m.group()}\\"  # an ordered list's number: escape the `.` or `)` after it


def md_cell(value: object) -> str:
    """A value made safe for one Markdown table cell: one line (as one_line), no unescaped
    pipe."""
    if value is None:
        return NONE
    text = _inline(str(value))  # a cell cannot start a block: no marker to escape
    text = text.replace("\\|", "|").replace("|", "\\|")
    return text if text.strip() else NONE


def code(text: str) -> str:
    """An inline code span that survives backticks inside the text."""
    text = terminal_text(_joined(str(text)))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def items(text: str | None) -> list[str]:
    """A narrative field as list items: one per non-empty line, leading bullets removed."""
    if not text:
        return []
    out = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            out.append(line)
    return out


def score_change(change: int | None) -> str:
    """A risk's score change since its last review: +4, −2, ±0, or that it was never reviewed."""
    if change is None:
        return "not reviewed yet"
    return f"+{change}" if change > 0 else ("±0" if change == 0 else f"−{-change}")
