"""A status update drafted from the incident and its timeline: what stakeholders ask for in
every update (what is wrong and how bad, since when, what changed since the last update, what
is being done, when the next update comes). The responder edits it before it is sent."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from mlops_oncall.formats.timestamps import local_text
from mlops_oncall.notify.cadence import Cadence

# events that are not news for stakeholders (the update itself, machine bookkeeping)
_QUIET = frozenset({"status_update", "update_overdue", "check_run", "milestone", "notified"})
MAX_SINCE = 15  # lines of "since the last update"; older ones are counted, not listed


def _one_line(text: str | None, width: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def event_line(ev: Any) -> str | None:
    """One plain line for an event, or None for one stakeholders need not see."""
    kind, data = ev.kind, ev.data
    if kind in _QUIET:
        return None
    text = _one_line(ev.text)
    if kind == "status_changed":
        return f"status {data.get('from')} → {data.get('to')}" + (
            f": {_one_line(data.get('note'))}" if data.get("note") else ""
        )
    if kind in ("step_done", "step_skipped", "step_failed"):
        outcome = kind.removeprefix("step_")
        return f"runbook step {outcome}: {_one_line(data.get('title') or data.get('step'))}"
    if kind == "check_transition":
        name = data.get("check") or data.get("check_id") or "?"
        return f"check {name} {data.get('from', '?')} → {data.get('to', '?')}"
    if kind == "note":
        return f"note: {text}" if text else None
    return text or kind.replace("_", " ")


def draft(view: Any, events: list[Any], cadence: Cadence, zone: tzinfo, now: datetime) -> str:
    """The draft text of the next update. ``events``: the incident's timeline, oldest first."""
    r = view.row
    last = next((e for e in reversed(events) if e.kind == "status_update"), None)
    since = [e for e in events if last is None or e.seq > last.seq]
    lines = [f"[{r.severity}] {view.id}: {r.title}"]
    lines.append(f"Status: {r.status}" + (f" · Service: {r.service}" if r.service else ""))
    lines.append(f"Impact: {_one_line(r.impact) or 'being assessed'}")
    started = r.impact_started_at
    lines.append(
        f"Started: {local_text(started, zone) if started else 'unknown'}"
        f" · Detected: {local_text(r.detected_at or r.declared_at, zone)}"
    )
    lines.append("")
    head = (
        f"Since the last update ({local_text(last.ts, zone)}):" if last else "What happened so far:"
    )
    news = [(e, line) for e in since if (line := event_line(e))]
    lines.append(head)
    if not news:
        lines.append("- no change")
    hidden = max(0, len(news) - MAX_SINCE)
    if hidden:
        lines.append(f"- ({hidden} earlier events not listed)")
    for e, line in news[hidden:]:
        lines.append(f"- {local_text(e.ts, zone)} {line}")
    lines.append("")
    lines.append("What we are doing:")
    doing = []
    t = view.triage
    if t is not None and not t.complete:
        num, total = t.position()
        step = next((s for s in t.runbook.steps if s.id == t.current), None)
        title = step.title if step else t.current
        doing.append(f"- runbook {t.runbook.id}, step {num} of {total}: {title}")
    for a in view.actions:
        if a.status == "open" and a.type == "mitigate":
            doing.append(f"- {_one_line(a.text)} ({a.owner})")
    lines.extend(doing or ["- investigating"])
    if cadence.every is not None:  # sending this update starts the next interval
        lines.append("")
        lines.append(f"Next update by {local_text(now + cadence.every, zone)}.")
    return "\n".join(lines) + "\n"
