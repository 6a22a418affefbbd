"""The tables, declared as SQLModel models: the schema and the typed records in one place.

Timeline events are append-only; the incident row keeps the chain's head. Status, severity
and milestones are columns on the incident for fast listing and metrics; each change to them
is also a timeline event written in the same transaction. Triage progress (current step,
outcomes) is *not* stored: it is derived from the timeline.

Each model is both a table (``Model.__table__``, re-exported by ``store.tables`` for the Core
statements on the hot paths) and the record a service returns (``Model.model_validate(row)``;
``model_dump()`` for JSON). The models have their own registry, so their ``metadata`` holds
these tables only: another SQLModel model in the same process (a plugin's, a test's) never
lands in ``create_all``.

Column order, types, nullability, defaults and index and constraint names are the schema as
migrated (tests/store/fixtures/schema_*.sql pin the DDL): a change here needs a migration.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from mlops_oncall.store.types import JSONText, UTCTimestamp


class Record(SQLModel, registry=registry()):
    """The base of every table: a registry (and MetaData) of our own, not SQLModel's global."""


metadata = Record.metadata


# Field helpers: the column kinds the schema uses, so each declaration reads as one line.
# A default here is also the column's Python-side INSERT default (as in the Core tables).
def _id() -> Any:
    return Field(default=None, primary_key=True)


def _str(*, null: bool = False, index: bool = False, default: Any = ...) -> Any:
    """A short string (VARCHAR)."""
    if default is ... and null:
        default = None
    return Field(default=default, sa_type=String, nullable=null, index=index)


def _text(*, null: bool = False) -> Any:
    return Field(default=None if null else ..., sa_type=Text, nullable=null)


def _ts(*, null: bool = True, index: bool = False) -> Any:
    return Field(default=None if null else ..., sa_type=UTCTimestamp(), nullable=null, index=index)


def _fk(target: str, *, null: bool = False, index: bool = False) -> Any:
    return Field(default=None if null else ..., foreign_key=target, nullable=null, index=index)


def _json(empty: type) -> Any:
    """A JSON value in a TEXT column (``JSONText``); the record holds it parsed. The empty
    value is the record's default only: the column keeps no INSERT default, as before."""
    return Field(
        default_factory=empty,
        sa_type=JSONText,
        nullable=False,
        sa_column_kwargs={"default": None},
    )


class Meta(Record, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True, sa_type=String)
    value: str = _str()


class Incident(Record, table=True):
    __tablename__ = "incident"
    id: int | None = _id()
    title: str = _str()
    severity: str = _str()
    status: str = _str(index=True)
    service: str | None = _str(null=True, index=True)
    is_drill: bool = Field(default=False, nullable=False, index=True)
    drill_id: str | None = _str(null=True)
    declared_from_check: str | None = _str(null=True)
    created_at: datetime = _ts(null=False, index=True)
    updated_at: datetime = _ts(null=False)
    # milestones: the time, and the source that set it (manual, check, alert, drill)
    impact_started_at: datetime | None = _ts()
    impact_started_source: str | None = _str(null=True)
    detected_at: datetime | None = _ts()
    detected_source: str | None = _str(null=True)
    acknowledged_at: datetime | None = _ts()
    acknowledged_source: str | None = _str(null=True)
    declared_at: datetime | None = _ts(index=True)
    declared_source: str | None = _str(null=True)
    mitigated_at: datetime | None = _ts()
    mitigated_source: str | None = _str(null=True)
    resolved_at: datetime | None = _ts()
    resolved_source: str | None = _str(null=True)
    # postmortem narrative, written with `incident set` or the TUI
    summary: str | None = _text(null=True)
    impact: str | None = _text(null=True)
    root_cause: str | None = _text(null=True)
    trigger: str | None = _text(null=True)
    resolution: str | None = _text(null=True)
    authors: str | None = _str(null=True)
    # added by migration 3: contributing factors and lessons learned
    contributing_factors: str | None = _text(null=True)
    went_well: str | None = _text(null=True)
    went_wrong: str | None = _text(null=True)
    lucky: str | None = _text(null=True)
    postmortem_status: str = _str(default="draft")
    # added by migration 5: the ML impact of the incident
    model_versions: str | None = _text(null=True)
    predictions_affected: str | None = _text(null=True)
    decisions_to_review: str | None = _text(null=True)
    labels_confirm_by: str | None = _text(null=True)
    # the head of the timeline's hash chain
    head_seq: int = Field(default=0)
    head_hash: str = _str(default="")


class Event(Record, table=True):
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq", name="uq_event_incident_seq"),
        Index("ix_event_kind", "incident_id", "kind"),
    )
    id: int | None = _id()
    incident_id: int = _fk("incident.id")
    seq: int
    ts: datetime = _ts(null=False)
    actor: str = _str()
    kind: str = _str()
    text: str = _text()
    data: str = _text()  # JSON, exactly as hashed
    prev_hash: str = _str()
    hash: str = _str()


class RoleAssignment(Record, table=True):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("incident_id", "role", name="uq_role_incident_role"),)
    id: int | None = _id()
    incident_id: int = _fk("incident.id", index=True)
    role: str = _str()
    who: str = _str()
    assigned_at: datetime = _ts(null=False)


class ActionItem(Record, table=True):
    __tablename__ = "action_item"
    __table_args__ = (UniqueConstraint("incident_id", "number", name="uq_action_incident_number"),)
    id: int | None = _id()
    incident_id: int = _fk("incident.id", index=True)
    number: int
    text: str = _text()
    type: str = _str()
    owner: str = _str()
    due: date | None = None
    status: str = _str(default="open")
    created_at: datetime = _ts(null=False)
    done_at: datetime | None = _ts()
    # added by migration 5
    priority: str | None = _str(null=True)  # P0..P3
    link: str | None = _str(null=True)  # the tracking ticket


class Deployment(Record, table=True):
    __tablename__ = "deployment"
    id: int | None = _id()
    service: str = _str(index=True)
    version: str = _str()
    kind: str = _str()
    outcome: str = _str()
    at: datetime = _ts(null=False, index=True)
    incident_id: int | None = _fk("incident.id", null=True, index=True)
    actor: str = _str()
    notes: str | None = _str(null=True)
    # added by migration 5: how the deploy ended when that was known later
    rolled_back_to: str | None = _str(null=True)  # the version a rolled-back deploy became
    outcome_at: datetime | None = _ts()  # when it was marked failed or rolled back
    hotfix_of: int | None = _fk("deployment.id", null=True)  # this deploy fixes that one
    updated_at: datetime | None = _ts()


class TriageRunbook(Record, table=True):
    """The runbook attached to an incident, frozen as it was when attached (evidence).
    Progress through it is derived from the timeline, never stored here."""

    __tablename__ = "triage_runbook"
    id: int | None = _id()
    incident_id: int = _fk("incident.id", index=True)
    runbook_id: str = _str()
    version: str = _str()  # sha256 of the snapshot
    snapshot: str = _text()
    attached_seq: int
    attached_at: datetime = _ts(null=False)


class CheckTransition(Record, table=True):
    """A check crossing a threshold (not every raw flip), with what the probe saw."""

    __tablename__ = "check_transition"
    __table_args__ = (Index("ix_check_transition_check_at", "check_id", "at"),)
    id: int | None = _id()
    check_id: str = _str()
    service: str | None = _str(null=True)
    from_state: str = _str()
    to_state: str = _str()
    at: datetime = _ts(null=False, index=True)
    previous_since: datetime | None = _ts()
    first_failure_at: datetime | None = _ts()
    error_class: str | None = _str(null=True)
    message: str = _text()
    observed: dict[str, Any] = _json(dict)  # the failing conditions' values
    blocked_by: list[str] = _json(list)  # the dependencies that were failing


class CheckRollup(Record, table=True):
    """One check's polls in one UTC hour; fixed latency buckets, so hours merge by adding."""

    __tablename__ = "check_rollup"
    __table_args__ = (UniqueConstraint("check_id", "hour", name="uq_check_rollup_check_hour"),)
    id: int | None = _id()
    check_id: str = _str()
    hour: datetime = _ts(null=False, index=True)
    polls: int = 0
    successes: int = 0
    degraded: int = 0
    down: int = 0
    latency_sum_ms: float = 0.0
    latency_counts: list[int] = _json(list)  # one count per latency bucket


class CheckMinute(Record, table=True):
    """One check's polls in one UTC minute, for the SLO burn-rate windows (slo/). Pruned past
    the longest alert window plus a margin (``checks_history.MINUTE_RETENTION``). The unique
    key leads with the minute: pruning and the window sums are range scans of it. Latency
    counts are sparse ({bucket index: count}): a minute usually has one or two polls."""

    __tablename__ = "check_minute"
    __table_args__ = (UniqueConstraint("minute", "check_id", name="uq_check_minute_minute_check"),)
    id: int | None = _id()
    check_id: str = _str()
    minute: datetime = _ts(null=False)
    polls: int = 0
    successes: int = 0
    degraded: int = 0
    down: int = 0
    latency_counts: dict = _json(dict)  # {bucket index (text): count}, nonzero buckets only


class Risk(Record, table=True):
    """One entry of the risk register (R-001 is id 1). The score changes only by a review,
    so every change is in risk_review."""

    __tablename__ = "risk"
    id: int | None = _id()
    title: str = _text()
    description: str | None = _text(null=True)  # cause → event → effect
    category: str = _str(index=True)
    likelihood: int
    impact: int
    owner: str = _str()
    treatment: str = _str()
    mitigation: str | None = _text(null=True)
    contingency: str | None = _text(null=True)
    early_warning: str | None = _text(null=True)
    status: str = _str(index=True)
    identified_on: date
    next_review: date | None = None
    last_reviewed: date | None = None
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    # added by migration 5: a tolerated risk is accepted by someone, until a date
    approver: str | None = _str(null=True)
    accepted_until: date | None = None
    created_at: datetime = _ts(null=False)
    updated_at: datetime = _ts(null=False)


class RiskReview(Record, table=True):
    """The score history of a risk: its first assessment, then one row per review."""

    __tablename__ = "risk_review"
    id: int | None = _id()
    risk_id: int = _fk("risk.id", index=True)
    kind: str = _str()  # identified | review
    at: datetime = _ts(null=False)
    likelihood: int
    impact: int
    note: str | None = _text(null=True)
    actor: str = _str()


class RiskLink(Record, table=True):
    """A risk's link to an incident (it happened, or nearly did) or to a runbook (the
    response)."""

    __tablename__ = "risk_link"
    id: int | None = _id()
    risk_id: int = _fk("risk.id", index=True)
    incident_id: int | None = _fk("incident.id", null=True, index=True)
    runbook_id: str | None = _str(null=True)
    created_at: datetime = _ts(null=False)


class Drill(Record, table=True):
    """One run of a scenario: kept, with its score, so readiness can be tracked over time."""

    __tablename__ = "drill"
    id: int | None = _id()
    scenario_id: str = _str(index=True)
    title: str = _str()
    scenario: str = _text()  # the scenario as run (JSON)
    mode: str = _str()  # tui | headless | live
    speed: float = 1.0
    status: str = _str(default="running")  # running | finished | aborted
    started_at: datetime = _ts(null=False, index=True)
    finished_at: datetime | None = _ts()
    control_url: str | None = _str(null=True)  # the fake system's control endpoint
    score: float | None = None
    result: str = _text()
    actor: str = _str()


class DrillInject(Record, table=True):
    """An inject as delivered: from the schedule, early by the game master, or free-form."""

    __tablename__ = "drill_inject"
    __table_args__ = (UniqueConstraint("drill_id", "number", name="uq_drill_inject_number"),)
    id: int | None = _id()
    drill_id: int = _fk("drill.id", index=True)
    number: int | None = None  # the inject's index in the scenario; None when free-form
    type: str = _str()  # fault | clear | alert | message | note | contingency
    target: str | None = _str(null=True)
    fault: str | None = _str(null=True)
    params: str = _text()  # JSON object
    text: str | None = _str(null=True)
    source: str = _str(default="schedule")  # schedule | game_master
    offset_s: float = 0.0  # scenario time of the delivery
    at: datetime = _ts(null=False)


class Presence(Record, table=True):
    """Who has an incident open right now: one row per TUI session (two terminals of one
    person are two rows), its time moved on by a heartbeat and stale after about 30 s
    (store/presence.py). Not evidence: not on the timeline, not exported, not verified. No
    foreign key to the incident: a beat would then wait on a writer's lock of its row."""

    __tablename__ = "presence"
    __table_args__ = (
        UniqueConstraint("incident_id", "session_key", name="uq_presence_incident_session"),
    )
    id: int | None = _id()
    incident_id: int
    session_key: str = _str()  # random per TUI process
    actor: str = _str()
    seen_at: datetime = _ts(null=False)


class AlertGroup(Record, table=True):
    """One Alertmanager notification group as this tool tracks it: (receiver, groupKey) and an
    epoch, so a firing after the group's incident ended starts a new group (and a new incident)
    instead of reopening the old one. The unique key is what makes concurrent deliveries of the
    same group agree on one row (alerts/records.py)."""

    __tablename__ = "alert_group"
    __table_args__ = (
        UniqueConstraint("receiver", "group_key", "epoch", name="uq_alert_group_key_epoch"),
    )
    id: int | None = _id()
    receiver: str = _str()
    group_key: str = _text()
    epoch: int = Field(default=1)
    state: str = _str(index=True)  # inbox | declared | attached | dismissed
    incident_id: int | None = _fk("incident.id", null=True, index=True)
    group_labels: dict = _json(dict)  # redacted (outside data)
    external_url: str | None = _str(null=True)
    route: str | None = _str(null=True)  # the name of the route that matched
    severity: str = _str()
    service: str | None = _str(null=True)
    runbook: str | None = _str(null=True)
    silences: list = _json(list)  # [{id, by, at, until, comment}] (one on the incident too)
    decided_by: str | None = _str(null=True)  # who declared, attached or dismissed it
    decided_at: datetime | None = _ts()
    first_seen: datetime = _ts(null=False)
    last_seen: datetime = _ts(null=False)


class Alert(Record, table=True):
    """One alert of a group, per (fingerprint, startsAt): the same alert firing again after it
    resolved is a new row. Labels and annotations are stored redacted."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint(
            "group_id", "fingerprint", "starts_at", name="uq_alert_group_fingerprint_start"
        ),
    )
    id: int | None = _id()
    group_id: int = _fk("alert_group.id", index=True)
    fingerprint: str = _str()
    alertname: str = _str()
    status: str = _str()  # firing | resolved
    labels: dict = _json(dict)
    annotations: dict = _json(dict)
    starts_at: datetime = _ts(null=False)
    ends_at: datetime | None = _ts()
    generator_url: str | None = _str(null=True)
    first_seen: datetime = _ts(null=False)
    last_seen: datetime = _ts(null=False)


class NotifyDelivery(Record, table=True):
    """One status update sent to one destination (notify/): the idempotency key (one per
    update and destination, sent again on every retry), the request body's sha256, the last
    HTTP status and the bounded, redacted answer. Never a URL or a key. ``external_id`` is
    what the destination calls the incident (a Statuspage incident id), so later updates
    amend it instead of opening another."""

    __tablename__ = "notify_delivery"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_notify_delivery_key"),
        Index("ix_notify_delivery_due", "state", "next_attempt_at"),
    )
    id: int | None = _id()
    # NULL (schema 11) for an SLO page's notification: it needs no incident (slo_episode_id)
    incident_id: int | None = _fk("incident.id", null=True, index=True)
    update_seq: int  # the status_update event's seq; 0 for an SLO page's
    destination: str = _str()  # the name under notify:
    type: str = _str()  # slack | statuspage | webhook | smtp
    idempotency_key: str = _str()
    state: str = _str()  # queued | sending | delivered | failed
    attempts: int = Field(default=0)
    body_sha256: str | None = _str(null=True)
    http_status: int | None = Field(default=None, nullable=True)
    response: str | None = _text(null=True)  # bounded, redacted
    error: str | None = _text(null=True)
    external_id: str | None = _str(null=True)
    created_at: datetime = _ts(null=False)
    updated_at: datetime = _ts(null=False)
    # schema 10, the notification queue (notify/queue.py): what made it (a rule's `when`, or
    # acknowledge/resolve for a PagerDuty trigger); NULL for a status update posted at once
    kind: str | None = _str(null=True)
    message: str | None = _text(null=True)  # JSON of what to send, redacted when queued
    next_attempt_at: datetime | None = _ts()  # queued: not before this time
    lease_owner: str | None = _str(null=True)  # sending: the dispatcher that claimed it
    lease_until: datetime | None = _ts()  # sending: another may claim it after this time
    # schema 11: the SLO page episode a notification is about (notify/slo_page.py). No
    # foreign key: step 9 of an upgrade creates this table as defined now, before step 11
    # creates slo_episode
    slo_episode_id: int | None = Field(default=None, nullable=True)


class SloEpisode(Record, table=True):
    """One page episode of an SLO (notify/slo_page.py): from the evaluation that found a page
    row firing to the one that found none. At most one open (ended_at NULL) per SLO, so two
    dispatchers open it, and so notify, once."""

    __tablename__ = "slo_episode"
    __table_args__ = (
        UniqueConstraint("slo", "windows", "started_at", name="uq_slo_episode_start"),
        Index(
            "uq_slo_episode_open",
            "slo",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )
    id: int | None = _id()
    slo: str = _str()  # the id in slos.yaml
    windows: str = _str()  # the page row that opened it: its long/short windows, "1h/5m"
    started_at: datetime = _ts(null=False)
    ended_at: datetime | None = _ts()
    evaluated_at: datetime = _ts(null=False)  # the last evaluation that saw it
