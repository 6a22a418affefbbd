"""The tables. Timeline events are append-only; the incident row keeps the chain's head.

Status, severity and milestones are columns on the incident for fast listing and metrics;
each change to them is also a timeline event written in the same transaction. Triage progress
(current step, outcomes) is *not* stored: it is derived from the timeline.

Plain SQLAlchemy Core tables: every query in the store is Core (or a statement compiled once
from Core), so an ORM layer would only cost import time and memory (SQLModel and
``sqlalchemy.orm`` were about 10 MiB and 0.15 s of every process that opens the store).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mlops_oncall.store.types import UTCTimestamp

MILESTONES = ("impact_started", "detected", "acknowledged", "declared", "mitigated", "resolved")

metadata = MetaData()


def _id() -> Column:
    return Column("id", Integer, primary_key=True)


def _str(name: str, *, null: bool = False, index: bool = False, default=None) -> Column:
    """A short string (VARCHAR)."""
    return Column(name, String, nullable=null, index=index, default=default)


def _text(name: str, *, null: bool = False) -> Column:
    return Column(name, Text, nullable=null)


def _ts(name: str, *, null: bool = True, index: bool = False) -> Column:
    return Column(name, UTCTimestamp(), nullable=null, index=index)


def _int(name: str, *, null: bool = False, default=None) -> Column:
    return Column(name, Integer, nullable=null, default=default)


def _fk(name: str, target: str, *, null: bool = False, index: bool = False) -> Column:
    return Column(name, Integer, ForeignKey(target), nullable=null, index=index)


Meta = Table("meta", metadata, Column("key", String, primary_key=True), _str("value"))

Incident = Table(
    "incident",
    metadata,
    _id(),
    _str("title"),
    _str("severity"),
    _str("status", index=True),
    _str("service", null=True, index=True),
    Column("is_drill", Boolean, nullable=False, index=True, default=False),
    _str("drill_id", null=True),
    _str("declared_from_check", null=True),
    _ts("created_at", null=False, index=True),
    _ts("updated_at", null=False),
    # milestones: the time, and the source that set it (manual, check, alert, drill)
    *(
        column
        for m in MILESTONES
        for column in (_ts(f"{m}_at", index=m == "declared"), _str(f"{m}_source", null=True))
    ),
    # postmortem narrative, written with `incident set` or the TUI
    _text("summary", null=True),
    _text("impact", null=True),
    _text("root_cause", null=True),
    _text("trigger", null=True),
    _text("resolution", null=True),
    _str("authors", null=True),
    # added by migration 3: contributing factors and lessons learned
    _text("contributing_factors", null=True),
    _text("went_well", null=True),
    _text("went_wrong", null=True),
    _text("lucky", null=True),
    _str("postmortem_status", default="draft"),
    # added by migration 5: the ML impact of the incident
    _text("model_versions", null=True),
    _text("predictions_affected", null=True),
    _text("decisions_to_review", null=True),
    _text("labels_confirm_by", null=True),
    # the head of the timeline's hash chain
    _int("head_seq", default=0),
    _str("head_hash", default=""),
)

Event = Table(
    "event",
    metadata,
    _id(),
    _fk("incident_id", "incident.id"),
    _int("seq"),
    _ts("ts", null=False),
    _str("actor"),
    _str("kind"),
    _text("text"),
    _text("data"),
    _str("prev_hash"),
    _str("hash"),
    UniqueConstraint("incident_id", "seq", name="uq_event_incident_seq"),
    Index("ix_event_kind", "incident_id", "kind"),
)

RoleAssignment = Table(
    "role_assignment",
    metadata,
    _id(),
    _fk("incident_id", "incident.id", index=True),
    _str("role"),
    _str("who"),
    _ts("assigned_at", null=False),
    UniqueConstraint("incident_id", "role", name="uq_role_incident_role"),
)

ActionItem = Table(
    "action_item",
    metadata,
    _id(),
    _fk("incident_id", "incident.id", index=True),
    _int("number"),
    _text("text"),
    _str("type"),
    _str("owner"),
    Column("due", Date, nullable=True),
    _str("status", default="open"),
    _ts("created_at", null=False),
    _ts("done_at"),
    # added by migration 5
    _str("priority", null=True),  # P0..P3
    _str("link", null=True),  # the tracking ticket
    UniqueConstraint("incident_id", "number", name="uq_action_incident_number"),
)

Deployment = Table(
    "deployment",
    metadata,
    _id(),
    _str("service", index=True),
    _str("version"),
    _str("kind"),
    _str("outcome"),
    _ts("at", null=False, index=True),
    _fk("incident_id", "incident.id", null=True, index=True),
    _str("actor"),
    _str("notes", null=True),
    # added by migration 5: how the deploy ended when that was known later
    _str("rolled_back_to", null=True),  # the version a rolled-back deploy was replaced by
    _ts("outcome_at"),  # when it was marked failed or rolled back (service restored by then)
    _fk("hotfix_of", "deployment.id", null=True),  # this deploy fixes that one
    _ts("updated_at"),
)

# The runbook attached to an incident, frozen as it was when attached (evidence). Progress
# through it is derived from the timeline, never stored here.
TriageRunbook = Table(
    "triage_runbook",
    metadata,
    _id(),
    _fk("incident_id", "incident.id", index=True),
    _str("runbook_id"),
    _str("version"),  # sha256 of the snapshot
    _text("snapshot"),
    _int("attached_seq"),
    _ts("attached_at", null=False),
)

# A check crossing a threshold (not every raw flip), with what the probe saw.
CheckTransition = Table(
    "check_transition",
    metadata,
    _id(),
    _str("check_id"),
    _str("service", null=True),
    _str("from_state"),
    _str("to_state"),
    _ts("at", null=False, index=True),
    _ts("previous_since"),
    _ts("first_failure_at"),
    _str("error_class", null=True),
    _text("message"),
    _text("observed"),
    _text("blocked_by"),
    Index("ix_check_transition_check_at", "check_id", "at"),
)

# One check's polls in one UTC hour; fixed latency buckets, so hours merge by adding.
CheckRollup = Table(
    "check_rollup",
    metadata,
    _id(),
    _str("check_id"),
    _ts("hour", null=False, index=True),
    _int("polls", default=0),
    _int("successes", default=0),
    _int("degraded", default=0),
    _int("down", default=0),
    Column("latency_sum_ms", Float, nullable=False, default=0.0),
    _text("latency_counts"),
    UniqueConstraint("check_id", "hour", name="uq_check_rollup_check_hour"),
)

# One entry of the risk register (R-001 is id 1). The score changes only by a review, so
# every change is in risk_review.
Risk = Table(
    "risk",
    metadata,
    _id(),
    _text("title"),
    _text("description", null=True),  # cause → event → effect
    _str("category", index=True),
    _int("likelihood"),
    _int("impact"),
    _str("owner"),
    _str("treatment"),
    _text("mitigation", null=True),
    _text("contingency", null=True),
    _text("early_warning", null=True),
    _str("status", index=True),
    Column("identified_on", Date, nullable=False),
    Column("next_review", Date, nullable=True),
    Column("last_reviewed", Date, nullable=True),
    _int("residual_likelihood", null=True),
    _int("residual_impact", null=True),
    # added by migration 5: a tolerated risk is accepted by someone, until a date
    _str("approver", null=True),
    Column("accepted_until", Date, nullable=True),
    _ts("created_at", null=False),
    _ts("updated_at", null=False),
)

# The score history of a risk: its first assessment, then one row per review.
RiskReview = Table(
    "risk_review",
    metadata,
    _id(),
    _fk("risk_id", "risk.id", index=True),
    _str("kind"),  # identified | review
    _ts("at", null=False),
    _int("likelihood"),
    _int("impact"),
    _text("note", null=True),
    _str("actor"),
)

# A risk's link to an incident (it happened, or nearly did) or to a runbook (the response).
RiskLink = Table(
    "risk_link",
    metadata,
    _id(),
    _fk("risk_id", "risk.id", index=True),
    _fk("incident_id", "incident.id", null=True, index=True),
    _str("runbook_id", null=True),
    _ts("created_at", null=False),
)

# One run of a scenario: kept, with its score, so readiness can be tracked over time.
Drill = Table(
    "drill",
    metadata,
    _id(),
    _str("scenario_id", index=True),
    _str("title"),
    _text("scenario"),  # the scenario as run (JSON)
    _str("mode"),  # tui | headless | live
    Column("speed", Float, nullable=False, default=1.0),
    _str("status", default="running"),  # running | finished | aborted
    _ts("started_at", null=False, index=True),
    _ts("finished_at"),
    _str("control_url", null=True),  # the fake system's control endpoint, for `drill control`
    Column("score", Float, nullable=True),
    _text("result"),
    _str("actor"),
)

# An inject as delivered: from the schedule, early by the game master, or free-form.
DrillInject = Table(
    "drill_inject",
    metadata,
    _id(),
    _fk("drill_id", "drill.id", index=True),
    _int("number", null=True),  # the inject's index in the scenario; None when free-form
    _str("type"),  # fault | clear | alert | message | note | contingency
    _str("target", null=True),
    _str("fault", null=True),
    _text("params"),
    _str("text", null=True),
    _str("source", default="schedule"),  # schedule | game_master
    Column("offset_s", Float, nullable=False, default=0.0),  # scenario time of the delivery
    _ts("at", null=False),
    UniqueConstraint("drill_id", "number", name="uq_drill_inject_number"),
)
