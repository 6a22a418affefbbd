"""The tables. Timeline events are append-only; the incident row keeps the chain's head.

Status, severity and milestones are columns on the incident for fast listing and metrics;
each change to them is also a timeline event written in the same transaction. Triage progress
(current step, outcomes) is *not* stored: it is derived from the timeline.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mlops_oncall.store.types import UTCTimestamp

MILESTONES = ("impact_started", "detected", "acknowledged", "declared", "mitigated", "resolved")


def _ts(nullable: bool = True, index: bool = False):
    return Field(default=None, sa_column=Column(UTCTimestamp(), nullable=nullable, index=index))


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class Incident(SQLModel, table=True):
    __tablename__ = "incident"
    id: int | None = Field(default=None, primary_key=True)
    title: str
    severity: str
    status: str = Field(index=True)
    service: str | None = Field(default=None, index=True)
    is_drill: bool = Field(default=False, index=True)
    drill_id: str | None = None
    declared_from_check: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))
    # milestones: the time, and the source that set it (manual, check, alert, drill)
    impact_started_at: datetime | None = _ts()
    impact_started_source: str | None = None
    detected_at: datetime | None = _ts()
    detected_source: str | None = None
    acknowledged_at: datetime | None = _ts()
    acknowledged_source: str | None = None
    declared_at: datetime | None = _ts(index=True)
    declared_source: str | None = None
    mitigated_at: datetime | None = _ts()
    mitigated_source: str | None = None
    resolved_at: datetime | None = _ts()
    resolved_source: str | None = None
    # postmortem narrative, written with `incident set` or the TUI
    summary: str | None = Field(default=None, sa_column=Column(Text))
    impact: str | None = Field(default=None, sa_column=Column(Text))
    root_cause: str | None = Field(default=None, sa_column=Column(Text))
    trigger: str | None = Field(default=None, sa_column=Column(Text))
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    authors: str | None = None
    # added by migration 3: contributing factors and lessons learned
    contributing_factors: str | None = Field(default=None, sa_column=Column(Text))
    went_well: str | None = Field(default=None, sa_column=Column(Text))
    went_wrong: str | None = Field(default=None, sa_column=Column(Text))
    lucky: str | None = Field(default=None, sa_column=Column(Text))
    postmortem_status: str = "draft"
    # the head of the timeline's hash chain
    head_seq: int = 0
    head_hash: str = ""


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq", name="uq_event_incident_seq"),
        Index("ix_event_kind", "incident_id", "kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    seq: int
    ts: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))
    actor: str
    kind: str
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    prev_hash: str
    hash: str


class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("incident_id", "role", name="uq_role_incident_role"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    role: str
    who: str
    assigned_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_item"
    __table_args__ = (UniqueConstraint("incident_id", "number", name="uq_action_incident_number"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    number: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    type: str
    owner: str
    due: date | None = None
    status: str = "open"
    created_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))
    done_at: datetime | None = _ts()


class Deployment(SQLModel, table=True):
    __tablename__ = "deployment"
    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(index=True)
    version: str
    kind: str
    outcome: str
    at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False, index=True))
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    actor: str
    notes: str | None = None


class TriageRunbook(SQLModel, table=True):
    """The runbook attached to an incident, frozen as it was when attached (evidence).

    Progress through it is derived from the timeline, never stored here.
    """

    __tablename__ = "triage_runbook"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    runbook_id: str
    version: str  # sha256 of the snapshot
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    attached_seq: int
    attached_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))


class CheckTransition(SQLModel, table=True):
    """A check crossing a threshold (not every raw flip), with what the probe saw."""

    __tablename__ = "check_transition"
    __table_args__ = (Index("ix_check_transition_check_at", "check_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    check_id: str
    service: str | None = None
    from_state: str
    to_state: str
    at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False, index=True))
    previous_since: datetime | None = _ts()
    first_failure_at: datetime | None = _ts()
    error_class: str | None = None
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    observed: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    blocked_by: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class CheckRollup(SQLModel, table=True):
    """One check's polls in one UTC hour; fixed latency buckets, so hours merge by adding."""

    __tablename__ = "check_rollup"
    __table_args__ = (UniqueConstraint("check_id", "hour", name="uq_check_rollup_check_hour"),)
    id: int | None = Field(default=None, primary_key=True)
    check_id: str
    hour: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False, index=True))
    polls: int = 0
    successes: int = 0
    degraded: int = 0
    down: int = 0
    latency_sum_ms: float = 0.0
    latency_counts: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class Risk(SQLModel, table=True):
    """One entry of the risk register (R-001 is id 1). The score changes only by a review,
    so every change is in risk_review."""

    __tablename__ = "risk"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))  # cause → event → effect
    category: str = Field(index=True)
    likelihood: int
    impact: int
    owner: str
    treatment: str
    mitigation: str | None = Field(default=None, sa_column=Column(Text))
    contingency: str | None = Field(default=None, sa_column=Column(Text))
    early_warning: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(index=True)
    identified_on: date
    next_review: date | None = None
    last_reviewed: date | None = None
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    created_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))


class RiskReview(SQLModel, table=True):
    """The score history of a risk: its first assessment, then one row per review."""

    __tablename__ = "risk_review"
    id: int | None = Field(default=None, primary_key=True)
    risk_id: int = Field(foreign_key="risk.id", index=True)
    kind: str  # identified | review
    at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))
    likelihood: int
    impact: int
    note: str | None = Field(default=None, sa_column=Column(Text))
    actor: str


class RiskLink(SQLModel, table=True):
    """A risk's link to an incident (it happened, or nearly did) or to a runbook (the response)."""

    __tablename__ = "risk_link"
    id: int | None = Field(default=None, primary_key=True)
    risk_id: int = Field(foreign_key="risk.id", index=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    runbook_id: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))


class Drill(SQLModel, table=True):
    """One run of a scenario: kept, with its score, so readiness can be tracked over time."""

    __tablename__ = "drill"
    id: int | None = Field(default=None, primary_key=True)
    scenario_id: str = Field(index=True)
    title: str
    scenario: str = Field(sa_column=Column(Text, nullable=False))  # the scenario as run (JSON)
    mode: str  # tui | headless | live
    speed: float = 1.0
    status: str = "running"  # running | finished | aborted
    started_at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False, index=True))
    finished_at: datetime | None = _ts()
    control_url: str | None = None  # the fake system's control endpoint, for `drill control`
    score: float | None = None
    result: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    actor: str


class DrillInject(SQLModel, table=True):
    """An inject as delivered: from the schedule, early by the game master, or free-form."""

    __tablename__ = "drill_inject"
    __table_args__ = (UniqueConstraint("drill_id", "number", name="uq_drill_inject_number"),)
    id: int | None = Field(default=None, primary_key=True)
    drill_id: int = Field(foreign_key="drill.id", index=True)
    number: int | None = None  # the inject's index in the scenario; None when free-form
    type: str  # fault | clear | alert | message | note | contingency
    target: str | None = None
    fault: str | None = None
    params: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    text: str | None = None
    source: str = "schedule"  # schedule | game_master
    offset_s: float = 0.0  # scenario time of the delivery
    at: datetime = Field(sa_column=Column(UTCTimestamp(), nullable=False))
