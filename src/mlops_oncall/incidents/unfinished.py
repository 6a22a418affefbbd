"""What is still unfinished when an incident is mitigated or resolved.

Three things make a responder stop and look: a runbook stopped before its last step, a check of
the service that is still failing, and action items still open. Mitigating or resolving anyway
is allowed (the responder knows things the tool does not); the TUI asks once, listing them, and
the answer is written into the status change ("proceeded despite ...").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_oncall.formats.vocabulary import FAILING


@dataclass(frozen=True)
class CheckState:
    state: str
    service: str | None = None
    blocked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unfinished:
    kind: str  # runbook | check | action_item
    text: str


def what_is_unfinished(view: Any, checks: Mapping[str, CheckState]) -> list[Unfinished]:
    """``view``: an IncidentView; ``checks``: each check's current state and service."""
    out: list[Unfinished] = []
    t = view.triage
    if t is not None and not t.complete:
        num, total = t.position()
        out.append(
            Unfinished(
                "runbook",
                f"runbook {t.runbook.id} stopped at step {num} of {total} ({t.current})",
            )
        )
    service = view.row.service
    origin = view.row.declared_from_check
    for check_id in sorted(checks):
        c = checks[check_id]
        if c.state not in FAILING:
            continue
        if check_id != origin and not (service and c.service == service):
            continue
        why = f" (blocked by {', '.join(c.blocked_by)})" if c.blocked_by else ""
        out.append(Unfinished("check", f"check {check_id} is {c.state}{why}"))
    for a in view.actions:
        if a.status != "done":
            owner = f", {a.owner}" if a.owner else ""
            out.append(
                Unfinished(
                    "action_item",
                    f"action item {a.number} open ({a.type}{owner}): {a.text}",
                )
            )
    return out


def despite_note(items: list[Unfinished]) -> str:
    """The answer, as written into the status change."""
    return "proceeded despite: " + "; ".join(i.text for i in items)


def last_recorded_states(transitions: list[Any]) -> dict[str, CheckState]:
    """Each check's state as its latest recorded threshold crossing left it (no live poller,
    as in the CLI)."""
    out: dict[str, CheckState] = {}
    for t in transitions:  # oldest first: the last one wins
        out[t.check_id] = CheckState(t.to_state, t.service, tuple(t.blocked_by or ()))
    return out
