"""The marker a registry deploy carries at the end of its notes, and reading it back.

``[mlflow:MODEL@VERSION track<previous track ...]``: the version reached and each track that
moved to it (``version``, ``stage:Production``, ``alias:champion``), with the version it held
before (none on a first poll). Idempotency reads it (tracks.py); screens show it as
"previous → new". Light on purpose: the TUI imports it to draw the deploys panel.
"""

from __future__ import annotations

import re

_ANY = re.compile(r"\[mlflow:.*@(\d+)((?: [^\s\]<]+(?:<\d+)?)+)\]\s*$")
_TAIL = re.compile(r"(\d+)((?: [^\s\]<]+(?:<\d+)?)*)\]")


def prefix(model: str) -> str:
    return f"[mlflow:{model}@"


def marker(model: str, version: int, moves: list[tuple[str, int | None]]) -> str:
    tokens = [track if before is None else f"{track}<{before}" for track, before in moves]
    return f"{prefix(model)}{version} {' '.join(tokens)}]"


def tracks_of(model: str, notes: str | None) -> list[tuple[int, str, int | None]]:
    """(version, track, previous) for every move of ``model`` marked in ``notes``."""
    out: list[tuple[int, str, int | None]] = []
    text, start = notes or "", prefix(model)
    at = text.find(start)
    while at >= 0:
        m = _TAIL.match(text, at + len(start))
        if m:
            for token in m.group(2).split():
                track, _, before = token.partition("<")
                out.append((int(m.group(1)), track, int(before) if before else None))
        at = text.find(start, at + 1)
    return out


def describe(notes: str | None) -> str | None:
    """A registry deploy's move in a few characters, for a table cell: ``@champion 3→4``,
    ``Production 3→4``, ``new after 3``; None for any other deploy (or a first poll)."""
    m = _ANY.search(notes or "")
    if m is None:
        return None
    moves = [t.partition("<") for t in m.group(2).split()]
    # what serves first (an alias, a stage), then a new version
    moves.sort(key=lambda t: t[0] == "version")
    for track, _, before in moves:
        if not before:
            continue
        if track == "version":
            return f"new after {before}"
        name = f"@{track[6:]}" if track.startswith("alias:") else track.partition(":")[2]
        return f"{name} {before}→{m.group(1)}"
    return None
