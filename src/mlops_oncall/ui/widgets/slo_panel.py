"""The dashboard's SLO panel: each SLO's error budget left and whether it burns, one line
each, the most urgent first; hidden while the workspace has no slos.yaml.

The app evaluates the SLOs off the UI loop (ui/slo_watch.py) and hands the statuses here;
the panel only formats them. A paging SLO is also an alarm (a toast), as a failing check is.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.widgets import Static

# lines the panel shows; the rest are summed up in one more line
TALL_LINES = 4
SHORT_LINES = 2


class SloPanel(Static):
    DEFAULT_CSS = """
    SloPanel {
        height: auto;
        display: none;
        text-wrap: nowrap;  /* a long SLO id is cut at the border, not wrapped */
        text-overflow: ellipsis;
    }
    SloPanel.-on { display: block; }
    """

    def __init__(self) -> None:
        super().__init__("", id="slo-panel", classes="panel")
        self.border_title = "SLOs: error budget left"

    def on_mount(self) -> None:
        self.show(self.app)

    def show(self, app: Any) -> None:
        statuses = getattr(app, "slo_statuses", None)
        error = getattr(app, "slo_error", None)
        if error:
            self.update(Text(error, style="red"))
            self.add_class("-on")
            return
        if not statuses:
            self.remove_class("-on")
            return
        short = self.screen.has_class("-short") if self.is_mounted else False
        self.update(panel_text(statuses, SHORT_LINES if short else TALL_LINES))
        self.add_class("-on")


def order(statuses: list[Any]) -> list[Any]:
    """Paging first, then any other firing row, then an SLO that could not be evaluated (a
    Prometheus query that failed), then the least budget left; no data last."""

    def key(s: Any) -> tuple:
        left = s.remaining if s.remaining is not None else math.inf
        return (not s.paging, not s.firing, not _error(s), left, s.slo.id)

    return sorted(statuses, key=key)


def _error(s: Any) -> str | None:
    return getattr(s, "error", None)


def budget_text(s: Any) -> str:
    """'69.9% left', 'spent (-12.0%)', 'no data'; '(partial)' with less history than the
    budget's window."""
    if _error(s):
        return "error"
    if s.remaining is None:
        return "no data"
    pct = s.remaining * 100
    text = f"{pct:.1f}% left" if pct > 0 else f"spent ({pct:.1f}%)"
    return text + (" (partial)" if s.state == "insufficient history" else "")


def rate_text(rate: float | None) -> str:
    if rate is None:
        return "–"
    return f"{rate:.1f}x" if rate >= 10 else f"{rate:.2f}x"


def firing_text(s: Any, *, severities: bool = True) -> str:
    """The firing rows' windows ('1h/5m page, 6h/30m page'); without ``severities`` they are
    named only where the rows differ (the panel's indicator already says page or ticket)."""
    named = severities or len({r.row.severity for r in s.firing}) > 1
    return ", ".join(_window(r) + (f" {r.row.severity}" if named else "") for r in s.firing)


def _window(r: Any) -> str:
    from mlops_oncall.formats.durations import format_duration

    return f"{format_duration(r.row.long)}/{format_duration(r.row.short)}"


def indicator(s: Any) -> Text:
    """The burning indicator: a page row firing, a ticket row firing, burning faster than the
    budget lasts (burn rate above 1 over the last hour), fine, or no data."""
    if s.paging:
        return Text("🔥 page  ", style="bold red")
    if s.firing:
        return Text("▲ ticket ", style="bold yellow")
    if _error(s):
        return Text("✗ error  ", style="bold red")
    if s.current_rate is not None and s.current_rate > 1:
        return Text("● burning", style="yellow")
    if s.remaining is None:
        return Text("· no data", style="dim")
    return Text("✓ ok     ", style="green")


def slo_line(s: Any, width: int) -> Text:
    line = Text()
    line.append_text(indicator(s))
    line.append(f" {s.slo.id:<{width}} ", style="bold")
    left = budget_text(s)
    style = "red" if s.remaining is not None and s.remaining <= 0 else ""
    line.append(f"{left:>12}", style=style)
    line.append(f"  burn {rate_text(s.current_rate):>6}", style="dim")
    if s.firing:
        line.append(f"  {firing_text(s, severities=False)}", style="red" if s.paging else "yellow")
    elif _error(s):
        line.append(f"  {_error(s)}", style="red")
    return line


def panel_text(statuses: list[Any], limit: int) -> Text:
    ranked = order(statuses)
    shown, rest = ranked[:limit], ranked[limit:]
    width = max(len(s.slo.id) for s in shown)
    out = Text("\n").join(slo_line(s, width) for s in shown)
    if rest:
        burning = sum(1 for s in rest if s.firing)
        more = f"\n+ {len(rest)} more" + (f", {burning} firing" if burning else ", none firing")
        out.append(more + " (mlops-oncall slo status)", style="dim")
    return out


def alarm_text(s: Any, runbook: str | None, open_incident: str | None) -> str:
    """The toast for an SLO whose page row started firing: what fires, the budget left, the
    runbook that fits its checks, and what to do."""
    text = (
        f"SLO {s.slo.id} is burning its error budget: {firing_text(s)} at "
        f"{rate_text(s.current_rate)}, {budget_text(s)}."
    )
    if runbook:
        text += f" Suggested runbook: {runbook}."
    if open_incident:
        text += f" {open_incident} open."
    elif s.slo.checks:
        text += f" Declare from one of its checks ({', '.join(s.slo.checks[:3])}) with d."
    return text
