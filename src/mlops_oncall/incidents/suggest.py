"""What to prefill when a responder declares an incident from a failing check.

Title, severity (from the best-matching runbook), service, ``detected`` (the first failing
poll), the runbooks that fit with the reason each matched, and past incidents of the same
service or runbook. Pure over the core services; the TUI only shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from mlops_oncall.formats.refs import public_id
from mlops_oncall.store.tables import Incident, TriageRunbook

DEFAULT_SEVERITY = "SEV3"


@dataclass
class Suggestion:
    runbook_id: str
    title: str
    severity: str
    score: int
    reasons: list[str]


@dataclass
class Declaration:
    check_id: str
    title: str
    severity: str
    service: str | None
    detected_at: datetime | None
    error_class: str | None
    message: str
    runbooks: list[Suggestion] = field(default_factory=list)
    past: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> Suggestion | None:
        return self.runbooks[0] if self.runbooks else None


def runbook_suggestions(
    library,
    *,
    check_id: str | None,
    error_class: str | None,
    service: str | None,
    named: str | None,
) -> list[Suggestion]:
    matches = library.match(
        checks=[check_id] if check_id else [],
        error_classes=[error_class] if error_class else [],
        services=[service] if service else [],
        named={check_id: named} if check_id and named else {},
    )
    return [
        Suggestion(m.entry.id, m.entry.summary.title, m.entry.summary.severity, m.score, m.reasons)
        for m in matches
    ]


def suggestions_for_checks(
    library, *, checks: list[str], services: list[str], named: dict[str, str]
) -> list[Suggestion]:
    """Runbooks that fit several checks at once (an SLO's): triggered by or named by one of
    them, their services strengthening the match."""
    matches = library.match(checks=checks, services=services, named=named)
    return [
        Suggestion(m.entry.id, m.entry.summary.title, m.entry.summary.severity, m.score, m.reasons)
        for m in matches
    ]


def past_incidents(
    store, *, service: str | None, runbook_ids: list[str], limit: int = 5
) -> list[dict[str, Any]]:
    """Earlier incidents of the same service, or that worked one of these runbooks."""
    inc, tr = Incident, TriageRunbook
    conds = []
    if service:
        conds.append(inc.c.service == service)
    if runbook_ids:
        conds.append(inc.c.id.in_(select(tr.c.incident_id).where(tr.c.runbook_id.in_(runbook_ids))))
    if not conds:
        return []
    q = (
        select(
            inc.c.id, inc.c.title, inc.c.severity, inc.c.status, inc.c.declared_at, inc.c.service
        )
        .where(or_(*conds), inc.c.is_drill.is_(False))
        .order_by(inc.c.id.desc())
        .limit(limit)
    )
    with store.read() as conn:
        return [
            {
                "id": public_id(r[0]),
                "title": r[1],
                "severity": r[2],
                "status": r[3],
                "declared_at": r[4],
                "service": r[5],
            }
            for r in conn.execute(q)
        ]


def declaration_for(view, spec, library, store) -> Declaration:
    """Prefill a declaration from a check's view (its state, first failure, last result)."""
    last = view.last
    error_class = last.error_class if last is not None else None
    message = last.message if last is not None else ""
    service = spec.service if spec is not None else None
    name = (spec.name if spec is not None and spec.name else None) or view.check_id
    suggestions = runbook_suggestions(
        library,
        check_id=view.check_id,
        error_class=error_class,
        service=service,
        named=spec.runbook if spec is not None else None,
    )
    severity = suggestions[0].severity if suggestions else DEFAULT_SEVERITY
    what = message or error_class or view.state
    title = f"{name}: {what}"
    if len(title) > 90:
        title = title[:87] + "..."
    past = past_incidents(
        store, service=service, runbook_ids=[s.runbook_id for s in suggestions[:3]]
    )
    return Declaration(
        check_id=view.check_id,
        title=title,
        severity=severity,
        service=service,
        detected_at=view.first_failure_at,
        error_class=error_class,
        message=message,
        runbooks=suggestions,
        past=past,
    )
