"""Small display helpers: state glyphs (readable without colour), sparklines, times."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

# the screens' names for the display-zone forms
from mlops_oncall.formats.timestamps import local_clock as clock_time  # noqa: F401
from mlops_oncall.formats.timestamps import local_text as stamp  # noqa: F401

STATE_STYLE = {
    "up": ("●", "up", "green"),
    "degraded": ("▲", "degraded", "yellow"),
    "down": ("✖", "DOWN", "bold red"),
    "unknown": ("○", "unknown", "dim"),
    "maintenance": ("◐", "maint", "blue"),
}
SEV_STYLE = {"SEV1": "bold white on red", "SEV2": "bold red", "SEV3": "yellow", "SEV4": "dim"}
STATUS_STYLE = {
    "triage": "bold magenta",
    "investigating": "bold yellow",
    "identified": "yellow",
    "mitigated": "cyan",
    "resolved": "green",
    "closed": "dim",
    "declined": "dim",
}
BARS = "▁▂▃▄▅▆▇█"


_STATE_TEXTS: dict[tuple[str, bool], Text] = {}


def state_text(state: str, *, provisional: bool = False) -> Text:
    """A state with its glyph, so it reads without colour. ``provisional``: polled, but the
    thresholds have not confirmed it yet (the first results of a check).

    One shared instance per state (a thousand rows need not hold a thousand copies), so
    callers must not change it: append it to another Text, or draw it."""
    key = (state, provisional)
    text = _STATE_TEXTS.get(key)
    if text is None:
        glyph, word, style = STATE_STYLE.get(state, ("?", state, ""))
        if provisional:
            text = Text(f"{glyph} {word}?", style=f"{style} dim".strip())
        else:
            text = Text(f"{glyph} {word}", style=style)
        _STATE_TEXTS[key] = text
    return text


def sev_text(sev: str) -> Text:
    return Text(f" {sev} ", style=SEV_STYLE.get(sev, ""))


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


OUTCOME_STYLE = {
    "succeeded": ("✓", "green"),
    "failed": ("✗ failed", "red"),
    "rolled_back": ("↩ rolled back", "yellow"),
}


def outcome_text(outcome: str) -> Text:
    label, style = OUTCOME_STYLE.get(outcome, (outcome, ""))
    return Text(label, style=style)


def sparkline(values: list[float | None], width: int = 12) -> Text:
    """Recent latencies as bars; a failed poll (no latency) shows as a red x."""
    vals = values[-width:]
    nums = [v for v in vals if v is not None]
    if not vals:
        return Text("")
    top = max(nums) if nums else 1.0
    out = Text()
    for v in vals:
        if v is None:
            out.append("x", style="red")
        else:
            idx = 0 if top <= 0 else min(len(BARS) - 1, int(v / top * (len(BARS) - 1)))
            out.append(BARS[idx], style="cyan")
    return out


def latency(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def deploy_version(version: str, notes: str | None) -> str:
    """A deploy's version; a registry move adds the version before it (changes/marker.py)."""
    from mlops_oncall.changes.marker import describe

    moved = describe(notes)
    return f"{version} ({moved})" if moved else version


def change_text(version: str, kind: str, outcome: str) -> Text:
    """A deploy as the "What changed" lists show it: ``fraud/4 (@champion 2→4) (model) ✓``;
    ``version`` is deploy_version's."""
    text = Text(f"{version} ({kind}) ")
    text.append_text(outcome_text(outcome))
    return text


def since(when: datetime | None, now: datetime) -> str:
    from mlops_oncall.formats.durations import format_duration  # pydantic: off the first frame

    if when is None:
        return "–"
    return format_duration(now - when)
