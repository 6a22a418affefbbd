"""Durations are strings with a unit in every file ("30s", "5m", "26h", "7d")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$"


# Longer than any real interval, timeout or look-back, and far inside what timedelta and
# datetime arithmetic can hold (now - 10**7 days raises OverflowError, not ValueError).
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """Parse '90s' / '1.5h' into a timedelta; raise ValueError with a clear message."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(
            f"expected a duration with a unit such as '30s', '5m', '26h' or '7d', got {text!r}"
        )
    m = _RE.match(text)
    if not m:
        raise ValueError(
            f"expected a duration with a unit such as '30s', '5m', '26h' or '7d', got {text!r}"
        )
    seconds = float(m.group(1)) * _UNITS[m.group(2)]  # a 400-digit number is inf, not an error
    if not seconds <= MAX_DURATION.total_seconds():
        raise ValueError(f"duration {text.strip()!r} is too long: at most 100 years (36500d)")
    return timedelta(seconds=seconds)


def format_duration(td: timedelta | float | None) -> str:
    """A short human form: 45s, 12m, 3h 5m, 2d 4h."""
    if td is None:
        return "–"
    secs = td.total_seconds() if isinstance(td, timedelta) else float(td)
    neg = secs < 0
    secs = abs(round(secs))
    d, rem = divmod(secs, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        out = f"{d}d {h}h" if h else f"{d}d"
    elif h:
        out = f"{h}h {m}m" if m else f"{h}h"
    elif m:
        out = f"{m}m {s}s" if s and m < 10 else f"{m}m"
    else:
        out = f"{s}s"
    return "-" + out if neg else out


def _to_td(value):
    if isinstance(value, timedelta):
        if abs(value) > MAX_DURATION:
            raise ValueError("duration is too long: at most 100 years (36500d)")
        return value
    return parse_duration(value)


def _dump(td: timedelta) -> str:
    secs = td.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if secs >= size and secs % size == 0:
            return f"{int(secs // size)}{unit}"
    return f"{secs:g}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_td),
    PlainSerializer(_dump, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration with a unit: ms, s, m, h, d or w (e.g. '30s', '26h').",
        }
    ),
]
