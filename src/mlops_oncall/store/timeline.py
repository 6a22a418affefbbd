"""The append-only, hash-chained timeline.

Each event's hash is SHA-256 over a canonical encoding of the incident's public id, its
sequence number, timestamp, actor, kind, text, data and its predecessor's hash. The incident
row keeps the head (last sequence number and hash), so an edited field, a deleted event and a
changed last event are all caught by ``verify``. Nothing here updates or deletes an event.

Hot paths (append, latest page, export) use SQLAlchemy Core and select only the columns they
need: building ORM objects for 100k rows would cost several times the query.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, String, bindparam, select, type_coerce, update

from mlops_oncall.formats.refs import public_id
from mlops_oncall.store import live
from mlops_oncall.store.compiled import run
from mlops_oncall.store.tables import ActionItem, Event, Incident, RoleAssignment, TriageRunbook
from mlops_oncall.store.types import UTCTimestamp, parse_ts, ts_text

GENESIS = "0" * 64
KINDS = frozenset(
    {
        "declared",
        "status_changed",
        "severity_changed",
        "role_assigned",
        "note",
        "milestone",
        "check_transition",
        "runbook_attached",
        "step_done",
        "step_skipped",
        "step_failed",
        "decision",
        "command_run",
        "check_run",
        "action_item",
        "field_set",
        "alert",
        "inject",
        "drill_ended",
        "handoff",
        "alert_fired",  # an Alertmanager alert (fingerprint, startsAt) of the incident's group
        "alerts_resolved",  # the fingerprints Alertmanager reported resolved, in one event
        "alert_silenced",  # a silence created in Alertmanager from the tool
        "status_update",  # a stakeholder update (its text), and where it was sent
        "update_overdue",  # the next status update is overdue (once per overdue period)
        "escalated",  # a runbook's escalation deadline passed without mitigation (once)
        "unacknowledged",  # not acknowledged within a notification rule's `after` (once)
        "notified",  # a notification delivered by the queue (destination, kind, key)
    }
)

EV = Event
INC = Incident


def canonical_data(data: dict[str, Any] | None) -> str:
    return json.dumps(
        data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def event_hash(
    incident: str, seq: int, ts: str, actor: str, kind: str, text: str, data: str, prev: str
) -> str:
    payload = json.dumps(
        [incident, seq, ts, actor, kind, text, data, prev],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class EventRecord:
    """One event as stored. ``ts`` and ``data`` are parsed on access: a screenful of events is
    built from the row's strings without parsing what the caller never reads."""

    __slots__ = ("actor", "data_json", "hash", "id", "kind", "prev_hash", "seq", "text", "ts_text")

    def __init__(self, id, seq, ts_text, actor, kind, text, data_json, prev_hash, hash):
        self.id = id
        self.seq = seq
        self.ts_text = ts_text
        self.actor = actor
        self.kind = kind
        self.text = text
        self.data_json = data_json
        self.prev_hash = prev_hash
        self.hash = hash

    @property
    def ts(self) -> datetime:
        return parse_ts(self.ts_text)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_json)

    def __repr__(self) -> str:
        return f"EventRecord(seq={self.seq}, kind={self.kind!r}, text={self.text!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts_text,
            "actor": self.actor,
            "kind": self.kind,
            "text": self.text,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def lock_incident(conn: Connection, incident_id: int) -> dict | None:
    """Read the incident row for update (FOR UPDATE on PostgreSQL; SQLite holds the write lock)."""
    row = (
        conn.execute(select(INC).where(INC.c.id == incident_id).with_for_update())
        .mappings()
        .first()
    )
    return dict(row) if row else None


_INSERT_EVENT = EV.insert()  # one statement object: compiled once, its values bound per call


@dataclass
class Appender:
    """Appends events to one incident inside a write transaction, keeping the head in step."""

    conn: Connection
    incident_id: int
    head_seq: int
    head_hash: str
    # the events' INSERT (one executemany), the head's UPDATE and the NOTIFY once, at flush(),
    # not per event: a delivery of many alerts appends one event each
    # (bench/bench_alert_storm.py), and each NOTIFY woke every TUI. Its records carry no id.
    deferred: bool = False
    _moved_at: datetime | None = None
    _rows: list[dict[str, Any]] | None = None

    @classmethod
    def for_row(cls, conn: Connection, row: dict, *, deferred: bool = False) -> Appender:
        return cls(conn, row["id"], row["head_seq"], row["head_hash"] or GENESIS, deferred)

    def flush(self) -> None:
        """A deferred appender's events into the table, its head onto the incident row, and
        one notification. Call it before the transaction commits (or anything else reads the
        row's head or events)."""
        if self._rows:
            self.conn.execute(_INSERT_EVENT, self._rows)
            self._rows = None
        if self._moved_at is not None:
            self._move_head(self._moved_at)
            self._moved_at = None

    def _move_head(self, ts: datetime) -> None:
        self.conn.execute(
            update(INC)
            .where(INC.c.id == self.incident_id)
            .values(head_seq=self.head_seq, head_hash=self.head_hash, updated_at=ts)
        )
        live.notify(self.conn, self.incident_id, self.head_seq)  # delivered on commit (PG)

    def append(
        self,
        kind: str,
        *,
        ts: datetime,
        actor: str,
        text: str = "",
        data: dict[str, Any] | None = None,
    ) -> EventRecord:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        seq = self.head_seq + 1
        ts_s = ts_text(ts)
        data_s = canonical_data(data)
        prev = self.head_hash or GENESIS
        digest = event_hash(public_id(self.incident_id), seq, ts_s, actor, kind, text, data_s, prev)
        row = {
            "incident_id": self.incident_id,
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "kind": kind,
            "text": text,
            "data": data_s,
            "prev_hash": prev,
            "hash": digest,
        }
        self.head_seq, self.head_hash = seq, digest
        if self.deferred:
            if self._rows is None:
                self._rows = []
            self._rows.append(row)
            self._moved_at = ts
            event_id = None
        else:
            event_id = self.conn.execute(_INSERT_EVENT, row).inserted_primary_key[0]
            self._move_head(ts)
        record = EventRecord(
            event_id,
            seq,
            ts_s,
            actor,
            kind,
            text,
            data_s,
            prev,
            digest,
        )
        return record


_COLS = (
    EV.c.id,
    EV.c.seq,
    type_coerce(EV.c.ts, String),
    EV.c.actor,
    EV.c.kind,
    EV.c.text,
    EV.c.data,
    EV.c.prev_hash,
    EV.c.hash,
)


@functools.cache
def _latest_stmt(limit: int):
    # one statement per page size (the UI uses one or two), each compiled once
    return (
        select(*_COLS)
        .where(EV.c.incident_id == bindparam("iid"))
        .order_by(EV.c.seq.desc())
        .limit(limit)
    )


_AFTER = (
    select(*_COLS)
    .where(EV.c.incident_id == bindparam("iid"), EV.c.seq > bindparam("after"))
    .order_by(EV.c.seq)
)
_EXPORT = select(*_COLS[1:]).where(EV.c.incident_id == bindparam("iid")).order_by(EV.c.seq)
EXPORT_COLUMNS = ("seq", "ts", "actor", "kind", "text", "data_json", "prev_hash", "hash")


def events(
    conn: Connection,
    incident_id: int,
    *,
    after_seq: int = 0,
    kinds: tuple[str, ...] | None = None,
) -> list[EventRecord]:
    if kinds:
        q = select(*_COLS).where(
            EV.c.incident_id == incident_id, EV.c.seq > after_seq, EV.c.kind.in_(kinds)
        )
        rows = conn.execute(q.order_by(EV.c.seq)).all()
    else:
        rows = run(conn, _AFTER, iid=incident_id, after=after_seq).fetchall()
    return [EventRecord(*r) for r in rows]


def latest(conn: Connection, incident_id: int, limit: int = 100) -> list[EventRecord]:
    """The newest ``limit`` events, oldest first (a screenful)."""
    rows = run(conn, _latest_stmt(limit), iid=incident_id).fetchall()
    rows.reverse()
    return [EventRecord(*r) for r in rows]


def event_at(conn: Connection, incident_id: int, seq: int) -> EventRecord | None:
    row = conn.execute(
        select(*_COLS).where(EV.c.incident_id == incident_id, EV.c.seq == seq)
    ).first()
    return EventRecord(*row) if row else None


def newest_of_kind(conn: Connection, kind: str) -> tuple[int, EventRecord] | None:
    """The newest event of ``kind`` on any incident, with its incident's id (the last
    hand-off)."""
    row = conn.execute(
        select(EV.c.incident_id, *_COLS)
        .where(EV.c.kind == kind)
        .order_by(EV.c.ts.desc(), EV.c.id.desc())
        .limit(1)
    ).first()
    return (row[0], EventRecord(*row[1:])) if row else None


def intact(ev: EventRecord, incident: str) -> bool:
    """Whether one event still matches its own hash (not its place in the chain)."""
    digest = event_hash(
        incident, ev.seq, ev.ts_text, ev.actor, ev.kind, ev.text, ev.data_json, ev.prev_hash
    )
    return digest == ev.hash


def export_rows(conn: Connection, incident_id: int, batch: int = 5000) -> Iterator[list[tuple]]:
    """Every event exactly as stored and hashed, in batches of plain tuples (EXPORT_COLUMNS)."""
    result = run(conn, _EXPORT, iid=incident_id)
    cursor = result.cursor  # the DB-API cursor: plain tuples, no per-row wrapping
    try:
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            yield rows
    finally:
        result.close()


@dataclass
class Verdict:
    ok: bool
    events: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    problem: str | None = None


# (seq, ts, kind, data_json, hash) of each event as it is read, for checks made in the same pass
Visitor = Callable[[int, str, str, str, str], None]


def verify(conn: Connection, incident_id: int, visit: Visitor | None = None) -> Verdict:
    """Walk the chain; name the first bad event and what happened to it.

    ``visit`` sees every event read, in order, up to the first bad one (the summary columns and
    the witness are checked in the same pass). Times are hashed as stored: a hand-edited
    timestamp that does not parse is a broken event, not a crash."""
    head = conn.execute(
        select(INC.c.head_seq, INC.c.head_hash).where(INC.c.id == incident_id)
    ).first()
    if head is None:
        raise KeyError(incident_id)
    head_seq, head_hash = head
    pid = public_id(incident_id)
    q = (
        select(
            EV.c.seq,
            type_coerce(EV.c.ts, String),
            EV.c.actor,
            EV.c.kind,
            EV.c.text,
            EV.c.data,
            EV.c.prev_hash,
            EV.c.hash,
        )
        .where(EV.c.incident_id == incident_id)
        .order_by(EV.c.seq)
    )
    expected_seq = 1
    prev = GENESIS
    count = 0

    def bad(seq: int, problem: str) -> Verdict:
        return Verdict(False, count, head_seq, head_hash, seq, problem)

    for seq, ts, actor, kind, text, data, prev_hash, digest in conn.execute(q):
        if seq != expected_seq:
            if seq > expected_seq:
                missing = (
                    f"event {expected_seq} is missing"
                    if seq == expected_seq + 1
                    else f"events {expected_seq}-{seq - 1} are missing"
                )
                return bad(
                    expected_seq,
                    f"{missing}: the chain jumps from {expected_seq - 1} to {seq} (deleted)",
                )
            return bad(seq, f"event {seq} appears twice or out of order")
        if prev_hash != prev:
            return bad(
                seq,
                f"event {seq} does not follow event {seq - 1}: its prev_hash does not match "
                f"(event {seq - 1} or this link was changed)",
            )
        if kind not in KINDS:
            return bad(seq, f"event {seq} has an unknown kind {kind!r} (edited)")
        recomputed = event_hash(pid, seq, ts, actor, kind, text, data, prev_hash)
        if recomputed != digest:
            return bad(seq, f"event {seq} ({kind}) was edited: its content does not match its hash")
        if visit is not None:
            visit(seq, ts, kind, data, digest)
        prev = digest
        expected_seq += 1
        count += 1
    last = expected_seq - 1
    if last < head_seq:
        return bad(
            last + 1,
            f"the timeline ends at event {last} but the head says {head_seq}: "
            f"the last event{'s were' if head_seq - last > 1 else ' was'} deleted",
        )
    if last > head_seq:
        return bad(head_seq + 1, f"events after the head ({head_seq}) were added outside the app")
    if last and prev != head_hash:
        return bad(
            last, f"event {last}, the last, does not match the incident's head hash: it was changed"
        )
    return Verdict(True, count, head_seq, head_hash)


def _raw(column):
    """A column as stored (text for times and dates): a hand-edited value is compared, not parsed."""
    if isinstance(column.type, (UTCTimestamp, Date)):
        return type_coerce(column, String).label(column.name)
    return column


def stored_summary(conn: Connection, incident_id: int) -> dict[str, Any]:
    """Everything stored beside the chain that summarises it, exactly as stored: the incident
    row, its roles, action items and attached runbook snapshots (``incident verify``)."""
    row = conn.execute(select(*(_raw(c) for c in INC.c)).where(INC.c.id == incident_id))
    found = row.mappings().first()
    if found is None:
        raise KeyError(incident_id)
    role, action, triage = RoleAssignment, ActionItem, TriageRunbook
    roles = conn.execute(
        select(*(_raw(c) for c in role.c)).where(role.c.incident_id == incident_id)
    ).mappings()
    actions = conn.execute(
        select(*(_raw(c) for c in action.c)).where(action.c.incident_id == incident_id)
    ).mappings()
    runbooks = conn.execute(
        select(*(_raw(c) for c in triage.c)).where(triage.c.incident_id == incident_id)
    ).mappings()
    return {
        "incident": dict(found),
        "roles": [dict(r) for r in roles],
        # psycopg parses a DATE itself whatever SQLAlchemy's type says: back to its text
        "actions": [
            {k: v.isoformat() if isinstance(v, date) else v for k, v in a.items()} for a in actions
        ],
        "runbooks": [dict(t) for t in runbooks],
    }
