"""Incident vocabulary and the rules of its lifecycle."""

from __future__ import annotations

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
STATUSES = ("triage", "investigating", "identified", "mitigated", "resolved", "closed", "declined")
ROLES = ("commander", "operations", "communications", "scribe")
MILESTONES = ("impact_started", "detected", "acknowledged", "declared", "mitigated", "resolved")
SOURCES = ("manual", "check", "alert", "drill")
ACTION_TYPES = ("mitigate", "prevent", "process")
OPEN_STATUSES = ("triage", "investigating", "identified", "mitigated")
# the postmortem narrative, written with `incident set` (one field_set event each)
NARRATIVE_FIELDS = (
    "summary",
    "impact",
    "root_cause",
    "trigger",
    "resolution",
    "authors",
    "postmortem_status",
    "contributing_factors",
    "went_well",
    "went_wrong",
    "lucky",
    # the ML impact, added by schema 5
    "model_versions",  # model versions involved (served, rolled back to)
    "predictions_affected",  # how many predictions, of which requests, over what time
    "decisions_to_review",  # decisions made on those predictions that need re-review
    "labels_confirm_by",  # when ground-truth labels will confirm the impact
)


def in_time_order(row) -> list[str]:
    """The milestones of an incident record in the order they happened (a correction can reorder them), unset ones
    last; a tie keeps the catalogue order (detected and declared often share a second)."""
    done = sorted(
        (m for m in MILESTONES if getattr(row, f"{m}_at")),
        key=lambda m: (getattr(row, f"{m}_at"), MILESTONES.index(m)),
    )
    return done + [m for m in MILESTONES if not getattr(row, f"{m}_at")]


MOVES: dict[str, tuple[str, ...]] = {
    "triage": ("investigating", "declined"),
    "investigating": ("identified", "mitigated", "resolved"),
    "identified": ("mitigated", "resolved"),
    "mitigated": ("resolved", "investigating"),  # it came back
    "resolved": ("closed", "investigating"),  # reopened
    "closed": (),
    "declined": (),
}

# Moving into these statuses sets the milestone (the first setting counts).
STATUS_MILESTONES = {"mitigated": ("mitigated",), "resolved": ("mitigated", "resolved")}


class LifecycleError(ValueError):
    """An invalid move: one clear line naming the allowed ones."""


def check_move(public_id: str, current: str, target: str) -> None:
    if target not in STATUSES:
        raise LifecycleError(f"unknown status '{target}'; expected one of {', '.join(STATUSES)}")
    if target == current:
        raise LifecycleError(f"{public_id} is already {current}")
    allowed = MOVES[current]
    if not allowed:
        raise LifecycleError(f"{public_id} is {current}; no further moves are allowed")
    if target not in allowed:
        raise LifecycleError(
            f"cannot move {public_id} from {current} to {target}; allowed: {', '.join(allowed)}"
        )


def normalise_severity(value: str) -> str:
    v = value.strip().upper()
    if v.isdigit():
        v = f"SEV{v}"
    if v not in SEVERITIES:
        raise LifecycleError(f"unknown severity '{value}'; expected one of {', '.join(SEVERITIES)}")
    return v
