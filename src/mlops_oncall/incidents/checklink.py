"""Checks and the incidents open about them.

An incident is about a check when it was declared from it or when the check belongs to the
incident's service. While such an incident is open, each threshold crossing of the check
(recovery included) is recorded on its timeline as a ``check_transition`` event, in the shape
the drill runner writes and the postmortem timeline reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mlops_oncall.checks.state import Transition
from mlops_oncall.formats.actors import MONITOR

if TYPE_CHECKING:  # the UI thread imports this module (concerns) before the store is open
    from mlops_oncall.store.models import Incident


def concerns(
    from_check: str | None, incident_service: str | None, check_id: str, service: str | None
) -> bool:
    """True when an incident declared from ``from_check`` about ``incident_service`` is about
    the check (declared from it, or its service)."""
    if from_check == check_id:
        return True
    return bool(service) and incident_service == service


def open_incidents_for(
    rows: Iterable[Incident], check_id: str, service: str | None
) -> list[Incident]:
    """The records (open incidents, newest first) about the check."""
    return [r for r in rows if concerns(r.declared_from_check, r.service, check_id, service)]


def transition_event(t: Transition) -> tuple[str, dict[str, Any]]:
    """The text and data of the check_transition event for ``t``."""
    text = f"{t.check_id}: {t.from_state} → {t.to_state}" + (f" ({t.message})" if t.message else "")
    data = {
        "check": t.check_id,
        "from": t.from_state,
        "to": t.to_state,
        "at": t.at.isoformat(),
        "error_class": t.error_class,
        "blocked_by": list(t.blocked_by),
        "message": t.message,
        "observed": t.observed,  # failing conditions' values: runbook commands' observed_*
    }
    return text, data


def record_transitions(incidents: Any, transitions: Iterable[Transition]) -> list[tuple[str, str]]:
    """Record each crossing on every open (non-drill) incident about its check.

    Returns (incident id, check id) pairs recorded. The event is stamped when it is written;
    the crossing's own time is in its data (``at``), which the postmortem timeline uses."""
    from mlops_oncall.formats.refs import public_id

    transitions = list(transitions)
    if not transitions:
        return []
    rows = [r for r in incidents.list(status="open") if not r.is_drill]
    done = []
    last: dict[int, dict[str, tuple]] = {}  # per incident: each check's latest recorded move
    for t in transitions:
        for row in open_incidents_for(rows, t.check_id, t.service):
            if row.id not in last:
                last[row.id] = _latest_moves(incidents, row.id)
            move = (t.from_state, t.to_state)
            # a second TUI on the same database sees the same crossing: record it once
            if last[row.id].get(t.check_id) == move:
                continue
            text, data = transition_event(t)
            incidents.record(row.id, "check_transition", text, data, actor=MONITOR)
            last[row.id][t.check_id] = move
            done.append((public_id(row.id), t.check_id))
    return done


def _latest_moves(incidents: Any, incident_id: int, window: int = 100) -> dict[str, tuple]:
    moves: dict[str, tuple] = {}
    for e in incidents.latest(incident_id, window):  # oldest first: the latest move wins
        if e.kind == "check_transition" and isinstance(e.data, dict):
            moves[e.data.get("check")] = (e.data.get("from"), e.data.get("to"))
    return moves
