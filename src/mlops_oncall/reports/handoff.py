"""The shift hand-off note: what the next on-call needs, read from the store, no probing.

It covers the open incidents (state, roles, time open, current triage step), what changed on
each since the last hand-off, action items due within a few days or overdue, checks whose
last recorded crossing left them degraded or down, risks due for review and scenarios not
drilled for a long time. Drills are left out of the incidents, as everywhere.

Recording a hand-off appends a `handoff` event to every open incident's timeline (a hand-off
is about the shift, not one incident, but the timeline is the one hash-chained record, so no
new table is needed); the next note starts from the newest such event. The event changes no
state, so `incident verify` has nothing to replay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.refs import public_id
from mlops_oncall.formats.words import plural
from mlops_oncall.incidents.lifecycle import OPEN_STATUSES
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.reports import text as fmt
from mlops_oncall.reports.render import render_document
from mlops_oncall.reports.risks import Risks
from mlops_oncall.reports.sources import Sources
from mlops_oncall.store.models import CheckTransition

TEMPLATE = "handoff.md.j2"
DEFAULT_WINDOW = timedelta(hours=12)  # without a recorded hand-off: about one shift
DUE_SOON_DAYS = 3  # action items and risk reviews due within this many days are listed
DRILL_STALE_DAYS = 90  # a scenario not drilled for this long is due again
FAILING = ("degraded", "down")
KIND = "handoff"


@dataclass(frozen=True)
class Window:
    """Where the note starts: ``source`` is `last hand-off`, `--since` or `default`."""

    since: datetime
    source: str
    last: dict[str, Any] | None  # the last recorded hand-off: at, by, incident


def window(incidents: Incidents, now: datetime, since: datetime | None = None) -> Window:
    """The note's start: ``since`` if given, else the last recorded hand-off, else 12 h ago."""
    found = incidents.last_handoff()
    last = None
    if found is not None:
        ref, ev = found
        last = {"at": fmt.ts_utc(ev.ts), "by": ev.actor, "incident": ref}
    if since is not None:
        return Window(since, "--since", last)
    if found is not None:
        return Window(found[1].ts, "last hand-off", last)
    return Window(now - DEFAULT_WINDOW, "default", None)


def build_context(
    *,
    incidents: Incidents,
    risks: Risks,
    check_states: Callable[[], Iterable[CheckTransition]],
    scenarios: dict[str, dict[str, Any]],
    since: datetime | None = None,
    sources: Sources | None = None,
    clock: Clock = SYSTEM,
) -> dict[str, Any]:
    """The hand-off template's context from ``since`` (default: the last hand-off) to now.

    It reads what it is given: the incidents service, the risk register, each check's latest
    recorded crossing (``check_states()``) and the scenarios with when each was last drilled."""
    sources = sources or Sources()
    now = clock.now()
    win = window(incidents, now, since)
    rows = incidents.open_or_changed(win.since)
    views = [incidents.get(r.id) for r in rows]
    open_views = [v for v in views if v.row.status in OPEN_STATUSES]
    changes = [c for c in (_changes(incidents, v, win.since) for v in views) if c is not None]
    ctx = {
        "generated_at": fmt.ts_utc(now),
        "since": fmt.ts_utc(win.since),
        "since_source": win.source,
        "last_handoff": win.last,
        "open_incidents": [_open(v, now) for v in open_views],
        "changes": changes,
        "actions": _actions(incidents, now.date()),
        "failing_checks": _failing(check_states(), sources, now),
        "risks_due": _risks_due(risks, now.date()),
        "drills_due": _drills_due(scenarios, now),
        "due_soon_days": DUE_SOON_DAYS,
        "drill_stale_days": DRILL_STALE_DAYS,
    }
    return sources.redact(ctx)


def render_handoff(
    *,
    templates_dir: Path | None = None,
    template_file: Path | None = None,
    sources: Sources | None = None,
    **inputs: Any,
) -> str:
    """The hand-off document; ``inputs`` are build_context's."""
    sources = sources or Sources()
    ctx = build_context(sources=sources, **inputs)
    return render_document(
        TEMPLATE, ctx, sources, templates_dir=templates_dir, template_file=template_file
    )


def record_handoff(incidents: Incidents, since: datetime) -> list[str]:
    """A `handoff` event on every open incident (no drills); returns their public ids. With
    none open nothing is recorded, and the next note starts from the last one again."""
    recorded = []
    for r in incidents.list(status="open", drills=False):
        pid = public_id(r.id)
        incidents.record(pid, KIND, "shift hand-off", {"since": fmt.ts_utc(since)})
        recorded.append(pid)
    return sorted(recorded)


# -- incidents -----------------------------------------------------------------------------


def _open(view, now: datetime) -> dict[str, Any]:
    r = view.row
    t = view.triage
    step = None
    if t is not None:
        num, total = t.position()
        current = t.runbook.step(t.current) if t.current else None
        step = {
            "runbook": t.runbook.id,
            "id": t.current,
            "title": current.title if current is not None else None,
            "position": f"{num} of {total}" if t.current else "complete",
        }
    open_for = (now - r.declared_at).total_seconds()
    return {
        "id": view.id,
        "title": r.title,
        "severity": r.severity,
        "status": r.status,
        "service": r.service,
        "declared": fmt.ts_minute(r.declared_at),
        "open_for": fmt.duration(open_for),
        "open_for_seconds": open_for,
        "commander": view.roles.get("commander"),
        "roles": [{"role": k, "who": v} for k, v in sorted(view.roles.items())],
        "step": step,
    }


def _changes(incidents: Incidents, view, since: datetime) -> dict[str, Any] | None:
    """One incident's events since ``since`` (hand-offs aside), summarised; None if none."""
    events = [e for e in incidents.events(view.row.id) if e.ts >= since and e.kind != KIND]
    if not events:
        return None
    status, severity, decisions, roles = [], [], [], []
    declared = False
    notes = steps = actions = 0
    for e in events:
        data = e.data
        if e.kind == "declared":
            declared = True
        elif e.kind == "status_changed":
            status.append(f"{data.get('from')} → {data.get('to')}")
        elif e.kind == "severity_changed":
            severity.append(f"{data.get('from')} → {data.get('to')}")
        elif e.kind == "note":
            notes += 1
        elif e.kind == "decision":
            decisions.append(f"{data.get('question', '?')} → {data.get('choice', '?')}")
        elif e.kind == "role_assigned":
            roles.append(f"{data.get('role')}: {data.get('who')}")
        elif e.kind in ("step_done", "step_skipped", "step_failed"):
            steps += 1
        elif e.kind == "action_item" and data.get("op") == "add":
            actions += 1
    return {
        "id": view.id,
        "title": view.row.title,
        "status": view.row.status,
        "events": len(events),
        "declared": declared,
        "status_changes": status,
        "severity_changes": severity,
        "notes": notes,
        "decisions": decisions,
        "roles": roles,
        "steps": steps,
        "actions_added": actions,
        "summary": _summary(
            len(events), declared, status, severity, notes, decisions, steps, actions
        ),
    }


def _summary(n, declared, status, severity, notes, decisions, steps, actions) -> str:
    parts = [plural(n, "event")]
    if declared:
        parts.append("declared")
    if status:
        parts.append("status " + ", ".join(status))
    if severity:
        parts.append("severity " + ", ".join(severity))
    if notes:
        parts.append(plural(notes, "note"))
    if decisions:
        parts.append(plural(len(decisions), "decision"))
    if steps:
        parts.append(plural(steps, "step") + " recorded")
    if actions:
        parts.append(plural(actions, "action item") + " added")
    return "; ".join(parts)


# -- action items, checks, risks, drills ----------------------------------------------------


def _actions(incidents: Incidents, today: date) -> list[dict[str, Any]]:
    """Open action items due within DUE_SOON_DAYS or overdue, the most urgent first."""
    horizon = today + timedelta(days=DUE_SOON_DAYS + 1)
    return [
        {
            "incident": public_id(a.incident_id),
            "number": a.number,
            "text": a.text,
            "owner": a.owner,
            "due": a.due.isoformat(),
            "days_left": (a.due - today).days,
            "overdue": a.due < today,
            "drill": drill,
        }
        for a, drill in incidents.overdue_actions(horizon)
    ]


def _failing(states: Iterable[CheckTransition], sources: Sources, now) -> list[dict[str, Any]]:
    out = []
    for t in states:
        if t.to_state not in FAILING:
            continue
        info = sources.checks.get(t.check_id)
        out.append(
            {
                "id": t.check_id,
                "name": info.name if info else t.check_id,
                "service": t.service,
                "state": t.to_state,
                "since": fmt.ts_minute(t.at),
                "for": fmt.duration((now - t.at).total_seconds()),
                "error_class": t.error_class,
                "message": t.message or None,
            }
        )
    return out


def _risks_due(risks: Risks, today: date) -> list[dict[str, Any]]:
    horizon = today + timedelta(days=DUE_SOON_DAYS)
    return [
        {
            "id": r["id"],
            "title": r["title"],
            "owner": r["owner"],
            "score": r["current"]["score"],
            "band": r["current"]["band"],
            "next_review": r["next_review"].isoformat(),
            "overdue": r["overdue"],
        }
        for r in risks.list(include_closed=False)
        if r["next_review"] is not None and r["next_review"] <= horizon
    ]


def _drills_due(scenarios: dict[str, dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Scenarios never drilled, or not for DRILL_STALE_DAYS, the longest ago first."""
    out = []
    for sid, s in scenarios.items():
        last = s.get("last_drilled")
        days = None if last is None else (now - last).days
        if days is None or days >= DRILL_STALE_DAYS:
            out.append(
                {
                    "scenario": sid,
                    "title": s.get("title") or sid,
                    "last_drilled": fmt.day(last) if last is not None else None,
                    "days_since": days,
                }
            )
    return sorted(out, key=lambda d: (d["days_since"] is not None, -(d["days_since"] or 0)))
