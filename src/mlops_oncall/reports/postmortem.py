"""The postmortem of one incident, after the Google SRE book's example postmortem.

Everything the timeline recorded is filled in: milestones and TTx, detection, the timeline,
the runbook path, action items, linked deploys and the checks' history around the incident.
What only people can write (summary, impact, causes, lessons) comes from the narrative fields;
the template shows a prompt where one is still empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.incidents import lifecycle as lc
from mlops_oncall.incidents.deploys import Deploys
from mlops_oncall.incidents.metrics import duration_vs_ttr, incident_metrics
from mlops_oncall.incidents.service import Incidents, IncidentView
from mlops_oncall.reports import text as fmt
from mlops_oncall.reports import timeline as tlm
from mlops_oncall.reports.budgets import incident_budget
from mlops_oncall.reports.render import render_document
from mlops_oncall.reports.sources import Sources
from mlops_oncall.slo.service import Slos
from mlops_oncall.store.models import ActionItem, CheckTransition, Deployment, Incident

TEMPLATE = "postmortem.md.j2"
# the timeline shows crossings this long before the outage began and after it was resolved;
# the check history and deploys look further back, for what led up to it
TIMELINE_MARGIN = timedelta(minutes=30)
HISTORY_MARGIN = timedelta(hours=2)
DEPLOY_LOOKBACK = timedelta(hours=24)

MILESTONE_LABELS = {
    "impact_started": "Impact started",
    "detected": "Detected",
    "acknowledged": "Acknowledged",
    "declared": "Declared",
    "mitigated": "Mitigated",
    "resolved": "Resolved",
}
METRICS = (  # name, label, definition (docs/metrics.md)
    ("ttd", "Time to detect", "detected − impact started"),
    ("tta", "Time to acknowledge", "acknowledged − detected"),
    ("ttm", "Time to mitigate", "mitigated − detected"),
    ("ttr", "Time to resolve", "resolved − detected"),
)
NARRATIVE = ("summary", "impact", "root_cause", "contributing_factors", "trigger", "resolution")
ML_IMPACT = ("model_versions", "predictions_affected", "decisions_to_review", "labels_confirm_by")


def build_context(
    ref: str | int,
    *,
    incidents: Incidents,
    deploys: Deploys,
    transitions: Callable[..., Iterable[CheckTransition]],
    sources: Sources | None = None,
    clock: Clock = SYSTEM,
    slos: Slos | None = None,
) -> dict[str, Any]:
    """The template context of the postmortem of ``ref``, redacted. It reads what it is
    given: the incidents and deploys services, the checks' recorded threshold crossings
    (``transitions(since=, until=)``) and the workspace's SLOs (the budget it consumed)."""
    sources = sources or Sources()
    view = incidents.get(ref)
    events = incidents.events(ref)
    row = view.row
    now = clock.now()
    begins, ends = tlm.outage_window(row)
    end = _end(row, now)
    related = _related_checks(view, sources)
    around = transitions(since=begins - HISTORY_MARGIN, until=end + HISTORY_MARGIN)
    around = [t for t in around if t.check_id in related or _same_service(t, row)]
    near = [t for t in around if begins - TIMELINE_MARGIN <= t.at <= end + TIMELINE_MARGIN]
    linked = _deploys(deploys.around(row.id, row.service, begins - DEPLOY_LOOKBACK, end), row)
    services = sorted(
        {s for s in [row.service, *(d["service"] for d in linked if d["linked"])] if s}
    )
    ctx = {
        "generated_at": fmt.ts_utc(now),
        "incident": _header(view, begins, ends, services),
        "narrative": {name: _text(getattr(row, name)) for name in NARRATIVE},
        "ml_impact": {name: _text(getattr(row, name)) for name in ML_IMPACT},
        "detection": _detection(view, events),
        "milestones": _milestones(row),
        "metrics": _metrics(row),
        "timeline": tlm.build(view, events, near),
        "runbook": _runbook(view),
        "action_items": [_action(a, now) for a in view.actions],
        "lessons": {
            name: fmt.items(getattr(row, name)) for name in ("went_well", "went_wrong", "lucky")
        },
        "supporting": {
            "since": fmt.ts_utc(begins - HISTORY_MARGIN),
            "until": fmt.ts_utc(end + HISTORY_MARGIN),
            "deploys": linked,
            "checks": _check_history(around, related, sources, begins, end),
        },
    }
    if slos is not None:  # with a slos.yaml only: the JSON without one is unchanged
        ctx["budget"] = incident_budget(slos, related, begins, end)
    return sources.redact(ctx)


def render_postmortem(
    ref: str | int,
    *,
    templates_dir: Path | None = None,
    template_file: Path | None = None,
    sources: Sources | None = None,
    **inputs: Any,
) -> str:
    """The postmortem document; ``inputs`` are build_context's."""
    sources = sources or Sources()
    ctx = build_context(ref, sources=sources, **inputs)
    return render_document(
        TEMPLATE, ctx, sources, templates_dir=templates_dir, template_file=template_file
    )


# -- parts ---------------------------------------------------------------------------------


def _end(row: Incident, now: datetime) -> datetime:
    """Where the documents stop looking: resolution, the decline, or now while it is open."""
    if row.resolved_at:
        return row.resolved_at
    return row.updated_at if row.status == "declined" else now


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _header(view: IncidentView, begins, ends, services: list[str]) -> dict[str, Any]:
    r = view.row
    seconds = (ends - begins).total_seconds() if begins and ends else None
    return {
        "id": view.id,
        "title": r.title,
        "severity": r.severity,
        "status": r.status,
        "service": r.service,
        "services": services,
        "is_drill": bool(r.is_drill),
        "drill_id": r.drill_id,
        "date": fmt.day(begins),
        "authors": _text(r.authors),
        "postmortem_status": r.postmortem_status or "draft",
        "outage_begins": fmt.ts_utc(begins),
        "outage_ends": fmt.ts_utc(ends) if ends else None,
        "duration": fmt.duration(seconds) if seconds is not None else None,
        "duration_seconds": seconds,
        "duration_from": "impact start" if r.impact_started_at else "detection",
        "duration_vs_ttr": _duration_vs_ttr(r),
        "roles": [
            {"role": role, "who": view.roles[role]} for role in lc.ROLES if role in view.roles
        ],
    }


def _duration_vs_ttr(row: Incident) -> str | None:
    """Why the header's duration (the outage) is not the TTR, in words; None when equal."""
    d = duration_vs_ttr(row)
    if d is None:
        return None
    parts = []
    if d["before_detection"]:
        parts.append(f"the outage began {fmt.duration(d['before_detection'])} before detection")
    if d["after_mitigation"] > 0:
        parts.append(f"resolution came {fmt.duration(d['after_mitigation'])} after mitigation")
    elif d["after_mitigation"] < 0:  # a milestone corrected out of order
        parts.append(f"mitigation is {fmt.duration(-d['after_mitigation'])} after resolution")
    return (
        f"TTR (detected to resolved) is {fmt.duration(d['ttr'])}: " + " and ".join(parts)
        if parts
        else None
    )


def _detection(view: IncidentView, events) -> dict[str, Any]:
    r = view.row
    source = r.detected_source
    if r.declared_from_check:
        kind, by = "check", f"check {fmt.code(r.declared_from_check)}"
    elif source == "alert":
        alert = next((e for e in events if e.kind == "alert"), None)
        name = (alert.data.get("name") or alert.data.get("alert")) if alert else None
        kind, by = "alert", f"alert {fmt.code(name)}" if name else "an alert"
    elif source == "drill":
        kind, by = "drill", "the drill scenario"
    else:
        who = events[0].actor if events else None
        kind, by = "person", f"{fmt.one_line(who)} (by hand)" if who else "a person"
    ttd = incident_metrics(r)["ttd"]
    return {
        "kind": kind,
        "by": by,
        "source": source or fmt.NONE,
        "at": fmt.ts_utc(r.detected_at),
        "ttd": fmt.duration(ttd) if ttd is not None else None,
        "ttd_seconds": ttd,
    }


def _milestones(row: Incident) -> list[dict[str, Any]]:
    """In the order they happened (a correction can reorder them); unset ones last."""
    names = sorted(
        lc.MILESTONES,
        key=lambda m: (
            getattr(row, f"{m}_at") is None,
            getattr(row, f"{m}_at") or 0,
            lc.MILESTONES.index(m),
        ),
    )
    return [
        {
            "name": m,
            "label": MILESTONE_LABELS[m],
            "at": fmt.ts_utc(getattr(row, f"{m}_at")),
            "source": getattr(row, f"{m}_source") or fmt.NONE,
        }
        for m in names
    ]


def _metrics(row: Incident) -> list[dict[str, Any]]:
    values = incident_metrics(row)
    return [
        {
            "name": name.upper(),
            "label": label,
            "definition": definition,
            "value": fmt.duration(values[name]),
            "seconds": values[name],
        }
        for name, label, definition in METRICS
    ]


def _runbook(view: IncidentView) -> dict[str, Any] | None:
    t = view.triage
    if t is None:
        return None
    attempts: dict[str, list] = {}
    for o in t.history:
        attempts.setdefault(o.step, []).append(o)
    steps = []
    for n, step in enumerate(t.runbook.steps, start=1):
        tries = attempts.get(step.id, [])
        last = tries[-1] if tries else None
        if last is None:
            outcome = "not reached"
        elif last.outcome == "decided":
            outcome = f"decided: {last.choice}"
        else:
            outcome = last.outcome
        failures = sum(o.outcome == "failed" for o in tries[:-1])
        if failures:
            outcome += f" (failed {failures}× before)"
        steps.append(
            {
                "n": n,
                "id": step.id,
                "title": step.title,
                "kind": step.kind,
                "outcome": outcome,
                "at": fmt.ts_utc(last.ts) if last and last.ts else fmt.NONE,
                "who": last.actor if last else None,
                "note": (last.note or None) if last else None,
            }
        )
    decisions = [
        {
            "step": o.step,
            "question": t.runbook.step(o.step).question or t.runbook.step(o.step).title,
            "choice": o.choice,
            "at": fmt.ts_utc(o.ts),
            "who": o.actor,
            "note": o.note or None,
        }
        for o in t.history
        if o.outcome == "decided"
    ]
    counts = t.counts()
    counts["not_reached"] = sum(s["outcome"] == "not reached" for s in steps)
    return {
        "id": t.runbook.id,
        "title": t.runbook.title,
        "version": t.version,
        "complete": t.complete,
        "current_step": t.current,
        "steps": steps,
        "decisions": decisions,
        "counts": counts,
    }


def _action(a: ActionItem, now: datetime) -> dict[str, Any]:
    due = a.due
    return {
        "number": a.number,
        "text": a.text,
        "type": a.type,
        "owner": a.owner,
        "due": due.isoformat() if due else None,
        "priority": a.priority,
        "link": a.link,
        "status": a.status,
        "overdue": bool(due and a.status == "open" and due < now.date()),
    }


def _related_checks(view: IncidentView, sources: Sources) -> set[str]:
    r = view.row
    ids = {r.declared_from_check} if r.declared_from_check else set()
    if r.service:
        ids |= {c.id for c in sources.checks.values() if c.service == r.service}
    return ids


def _same_service(t: CheckTransition, row: Incident) -> bool:
    return bool(row.service) and t.service == row.service


def _deploys(deploys: list[Deployment], row: Incident) -> list[dict[str, Any]]:
    """Deploys linked to the incident, and those of its service in the day before it."""
    return [
        {
            "at": fmt.ts_utc(d.at),
            "service": d.service,
            "version": d.version,
            "kind": d.kind,
            "outcome": d.outcome,
            "linked": d.incident_id == row.id,
            "actor": d.actor,
            "notes": d.notes,
        }
        for d in deploys
    ]


def _check_history(
    transitions: list[CheckTransition], related: set[str], sources: Sources, begins, end
) -> list[dict[str, Any]]:
    by_check: dict[str, list[CheckTransition]] = {c: [] for c in related}
    for t in transitions:
        by_check.setdefault(t.check_id, []).append(t)
    out = []
    for check_id in sorted(by_check):
        ts = by_check[check_id]
        spent = _time_in_states(ts, begins, end) if ts else None
        failures = [t.first_failure_at for t in ts if t.first_failure_at]
        info = sources.checks.get(check_id)
        out.append(
            {
                "id": check_id,
                "name": info.name if info else check_id,
                "service": (info.service if info else None) or (ts[0].service if ts else None),
                "transitions": len(ts),
                # no crossing recorded: the time in each state is unknown, not zero
                "down_for": fmt.duration(spent.get("down", 0.0)) if spent is not None else fmt.NONE,
                "degraded_for": (
                    fmt.duration(spent.get("degraded", 0.0)) if spent is not None else fmt.NONE
                ),
                "down_seconds": spent.get("down", 0.0) if spent is not None else None,
                "degraded_seconds": spent.get("degraded", 0.0) if spent is not None else None,
                "first_failure": fmt.ts_utc(min(failures)) if failures else fmt.NONE,
                "last_state": ts[-1].to_state if ts else fmt.NONE,
            }
        )
    return out


def _time_in_states(ts: list[CheckTransition], begins, end) -> dict[str, float]:
    """Seconds spent in each state between ``begins`` and ``end``, walking the crossings."""
    spent: dict[str, float] = {}
    if not ts:
        return spent
    state, since = ts[0].from_state, begins
    for t in ts:
        at = min(max(t.at, begins), end)
        if at > since:
            spent[state] = spent.get(state, 0.0) + (at - since).total_seconds()
        state, since = t.to_state, max(at, since)
    if end > since:
        spent[state] = spent.get(state, 0.0) + (end - since).total_seconds()
    return spent
