"""Small formatters shared by the documents: UTC times, durations, percentages, Markdown cells.

Documents are always in UTC (the postmortem convention), whatever the workspace's display zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mlops_oncall.formats.durations import format_duration

NONE = "–"  # shown where a value is missing; never 0, which would be a claim
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")


def utc(ts: datetime | None) -> datetime | None:
    return ts.astimezone(UTC) if ts is not None else None


def ts_utc(ts: datetime | None) -> str:
    """2026-11-26 22:40:00 UTC"""
    return utc(ts).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else NONE


def ts_minute(ts: datetime | None) -> str:
    """2026-11-26 22:40 UTC"""
    return utc(ts).strftime("%Y-%m-%d %H:%M UTC") if ts else NONE


def clock_time(ts: datetime) -> str:
    """22:40:05"""
    return utc(ts).strftime("%H:%M:%S")


def day(ts: datetime | None) -> str:
    return utc(ts).strftime("%Y-%m-%d") if ts else NONE


def duration(seconds: float | None) -> str:
    return NONE if seconds is None else format_duration(seconds)


def percent(share: float | None, digits: int = 3) -> str:
    """0.979166 -> '97.917%'; trailing zeros dropped so 1.0 reads '100%'."""
    if share is None:
        return NONE
    text = f"{share * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def one_line(text: str | None) -> str:
    """Collapse a multi-line text into one line (list items and table cells hold one line)."""
    if not text:
        return ""
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


def md_cell(value: object) -> str:
    """A value made safe for one Markdown table cell: no newline, no unescaped pipe."""
    if value is None:
        return NONE
    text = one_line(str(value)) if "\n" in str(value) or "\r" in str(value) else str(value)
    text = text.replace("\\|", "|").replace("|", "\\|")
    return text if text.strip() else NONE


def code(text: str) -> str:
    """An inline code span that survives backticks inside the text."""
    text = one_line(text)
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
