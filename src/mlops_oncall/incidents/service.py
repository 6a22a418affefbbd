"""Incidents: every change is one write transaction that checks the rules against the current
row, updates it, and appends the matching timeline events, so the record and the state agree.

The CLI, the TUI and drills all go through this class; none of them writes tables directly.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, update

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.durations import parse_duration
from mlops_oncall.incidents import integrity
from mlops_oncall.incidents import lifecycle as lc
from mlops_oncall.incidents.integrity import Integrity, snapshot_sha256
from mlops_oncall.incidents.triage import (
    FLOW_KINDS,
    OUTCOME_KINDS,
    TriageError,
    TriageState,
    replay,
)
from mlops_oncall.redact import Redactor
from mlops_oncall.runbooks.schema import Runbook
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.db import Store
from mlops_oncall.store.tables import ActionItem, Incident, RoleAssignment, TriageRunbook
from mlops_oncall.store.types import ts_text
from mlops_oncall.store.witness import Head, Witness, WitnessError, open_witness

DEFAULT_WITNESS = object()  # Incidents(witness=...) not given: the store's default witness

INC = Incident
ROLE = RoleAssignment
ACTION = ActionItem
TRIAGE = TriageRunbook

NARRATIVE_FIELDS = lc.NARRATIVE_FIELDS
# Clock skew between two terminals should not turn "now" into "the future".
FUTURE_SLACK = timedelta(seconds=5)


class IncidentError(Exception):
    """The answer is no: unknown incident, invalid move, a time out of range. Exit 1."""

    exit_code = 1


class TamperedError(IncidentError):
    """Stored data disagrees with the timeline, so acting on it is refused. Exit 1."""


class BadInput(IncidentError):
    """A value that cannot mean anything (bad severity, unparseable time). Exit 2."""

    exit_code = 2


_REF = re.compile(r"^(?:inc-?)?0*(\d+)$", re.IGNORECASE)


# the largest id a database can hold: a bigger number is no incident, not an overflow in SQL
MAX_ID = 2**63 - 1


def parse_ref(ref: str | int) -> int:
    if isinstance(ref, int):
        if not 0 < ref <= MAX_ID:
            raise IncidentError(f"unknown incident '{ref}'")
        return ref
    m = _REF.match(ref.strip())
    if not m or int(m.group(1)) == 0:
        raise IncidentError(f"unknown incident '{ref}' (ids look like INC-0001)")
    if int(m.group(1)) > MAX_ID:
        raise IncidentError(f"unknown incident '{ref}'")
    return int(m.group(1))


_AGO = re.compile(r"^(?:-\s*(?P<a>.+)|(?P<b>.+?)\s+ago)$")


def parse_time(text: str, zone: ZoneInfo | None = None, now: datetime | None = None) -> datetime:
    """ISO 8601 (naive means the workspace's zone), 'now', or relative: '-10m', '10m ago'."""
    s = text.strip()
    now = now or datetime.now(UTC)
    if s.lower() == "now":
        return now
    m = _AGO.match(s)
    if m:
        try:
            return now - parse_duration((m.group("a") or m.group("b")).replace(" ", ""))
        except ValueError:
            pass
    try:
        ts = datetime.fromisoformat(s.replace(" ", "T", 1) if " " in s and "T" not in s else s)
    except ValueError:
        raise BadInput(
            f"cannot read the time '{text}'; use ISO 8601 such as 2026-11-28T03:12:00Z, or '-10m'"
        ) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone or UTC)
    return ts.astimezone(UTC)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"cannot read the date '{text}'; use YYYY-MM-DD") from None


@dataclass
class IncidentView:
    """An incident as read for display or JSON: the row plus roles, actions and triage."""

    row: dict[str, Any]
    roles: dict[str, str] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    triage: TriageState | None = None

    @property
    def id(self) -> str:
        return tl.public_id(self.row["id"])

    def milestone(self, name: str) -> datetime | None:
        return self.row[f"{name}_at"]

    def to_json(self) -> dict[str, Any]:
        from mlops_oncall.incidents.metrics import duration, incident_metrics

        r = self.row
        out = {
            "id": self.id,
            "title": r["title"],
            "severity": r["severity"],
            "status": r["status"],
            "service": r["service"],
            "is_drill": bool(r["is_drill"]),
            "drill_id": r["drill_id"],
            "declared_from_check": r["declared_from_check"],
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
            "milestones": {
                m: ({"at": r[f"{m}_at"], "source": r[f"{m}_source"]} if r[f"{m}_at"] else None)
                for m in lc.MILESTONES
            },
            "metrics": incident_metrics(r) | {"duration": duration(r)},
            "roles": self.roles,
            "narrative": {f: r[f] for f in NARRATIVE_FIELDS},
            "action_items": self.actions,
            "runbook": None,
            "head": {"seq": r["head_seq"], "hash": r["head_hash"]},
        }
        t = self.triage
        if t is not None:
            num, total = t.position()
            out["runbook"] = {
                "id": t.runbook.id,
                "title": t.runbook.title,
                "version": t.version,
                "current_step": t.current,
                "position": num,
                "steps": total,
                "complete": t.complete,
                "outcomes": {
                    s: {"outcome": o.outcome, "choice": o.choice, "note": o.note, "at": o.ts}
                    for s, o in t.outcomes.items()
                },
            }
        return out


class Incidents:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM,
        actor: str = "unknown",
        zone: ZoneInfo | None = None,
        redactor: Redactor | None = None,
        witness: Witness | object | None = DEFAULT_WITNESS,
        on_warning: Callable[[str], None] | None = None,
    ):
        self.store = store
        self.clock = clock
        self.actor = actor
        self.zone = zone or ZoneInfo("UTC")
        self.redactor = redactor or Redactor()
        # where each new head is also written (None: nowhere); default beside a SQLite file
        self.witness: Witness | None = (
            open_witness(store.url) if witness is DEFAULT_WITNESS else witness  # type: ignore[assignment]
        )
        self.on_warning = on_warning
        self._tx = threading.local()  # the appenders of the current write, per thread

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; once it has committed, each incident it appended to has its new
        head witnessed. The event is durable first: a witness that fails only warns."""
        touched: dict[int, tl.Appender] = {}
        self._tx.touched = touched
        try:
            with self.store.write() as conn:
                yield conn
        finally:
            self._tx.touched = None
        if self.witness is not None:
            for app in touched.values():
                self._witness(app)

    def _witness(self, app: tl.Appender) -> None:
        head = Head(
            tl.public_id(app.incident_id), app.head_seq, app.head_hash, ts_text(datetime.now(UTC))
        )
        try:
            self.witness.record(head)  # type: ignore[union-attr]
        except WitnessError as exc:
            msg = f"warning: {head.incident} event {head.seq} is recorded, but {exc}"
            if self.on_warning is not None:
                self.on_warning(msg)
            else:
                logging.getLogger(__name__).warning(msg)

    # -- helpers ---------------------------------------------------------------------------
    def time(self, text: str | None) -> datetime | None:
        """Parse a --at value against this service's clock and zone."""
        if text is None:
            return None
        return parse_time(text, self.zone, self.clock.now())

    def _row(self, conn: Connection, ref: str | int, *, lock: bool = False) -> dict[str, Any]:
        iid = parse_ref(ref)
        if lock:
            row = tl.lock_incident(conn, iid)
        else:
            found = conn.execute(select(INC).where(INC.c.id == iid)).mappings().first()
            row = dict(found) if found else None
        if row is None:
            raise IncidentError(f"unknown incident '{ref}'")
        return row

    def _when(
        self, row: dict | None, at: datetime | None, *, allow_before_start: bool = False
    ) -> datetime:
        now = self.clock.now()
        if at is None:
            return now
        if at.tzinfo is None:
            raise BadInput("times must be timezone-aware")
        at = at.astimezone(UTC)
        if at > now + FUTURE_SLACK:
            raise IncidentError(f"{ts_text(at)} is in the future (now is {ts_text(now)})")
        if row is not None and not allow_before_start:
            began = min(
                t
                for t in (
                    row["impact_started_at"],
                    row["detected_at"],
                    row["declared_at"],
                    row["created_at"],
                )
                if t
            )
            if at < began:
                raise IncidentError(
                    f"{ts_text(at)} is before {tl.public_id(row['id'])} began ({ts_text(began)})"
                )
        return at

    def _append(
        self,
        app: tl.Appender,
        kind: str,
        ts: datetime,
        text: str = "",
        data: dict | None = None,
        *,
        redacted: bool = False,
        actor: str | None = None,
    ):
        """Append one event. ``redacted``: the data has been through ``_redacted`` already
        (the caller stores the same values in summary columns, which ``verify`` compares)."""
        r = self.redactor
        data = (data or {}) if redacted else r.value(data or {})
        who = self.actor if actor is None else actor
        record = app.append(kind, ts=ts, actor=who, text=r.text(text), data=data)
        touched = getattr(self._tx, "touched", None)
        if touched is not None:
            touched[app.incident_id] = app
        return record

    def _redacted(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.redactor.value(data)

    def _milestone(
        self,
        conn: Connection,
        app: tl.Appender,
        row: dict,
        name: str,
        at: datetime,
        source: str,
        *,
        correction: bool = False,
        ts: datetime | None = None,
    ) -> bool:
        """Set a milestone. The first setting counts unless this is an explicit correction."""
        previous, previous_source = row[f"{name}_at"], row[f"{name}_source"]
        if previous is not None and not correction:
            return False
        conn.execute(
            update(INC)
            .where(INC.c.id == row["id"])
            .values({f"{name}_at": at, f"{name}_source": source})
        )
        row[f"{name}_at"], row[f"{name}_source"] = at, source
        data: dict[str, Any] = {"name": name, "at": ts_text(at), "source": source}
        if correction:
            data["correction"] = True
            data["previous"] = (
                {"at": ts_text(previous), "source": previous_source} if previous else None
            )
            text = f"{name} corrected to {_short(at)}" + (
                f" (was {_short(previous)})" if previous else ""
            )
        else:
            text = f"{name} at {_short(at)} ({source})"
        self._append(app, "milestone", ts or at, text, data)
        return True

    # -- lifecycle -------------------------------------------------------------------------
    def declare(
        self,
        title: str,
        severity: str,
        *,
        service: str | None = None,
        runbook: Runbook | None = None,
        drill: bool = False,
        drill_id: str | None = None,
        at: datetime | None = None,
        detected_at: datetime | None = None,
        detected_source: str | None = None,
        impact_started_at: datetime | None = None,
        declared_from_check: str | None = None,
        notes: list[str] | None = None,
        by: str | None = None,
    ) -> IncidentView:
        """``by``: who declared it when it was not the actor themselves (a drill's game master),
        kept in the declared event so a drill's score can tell."""
        title = title.strip()
        if not title:
            raise BadInput("an incident needs a title")
        try:
            sev = lc.normalise_severity(severity)
        except lc.LifecycleError as exc:
            raise BadInput(str(exc)) from None
        when = self._when(None, at)
        if detected_at is not None:
            detected_at = self._when(None, detected_at)
            if detected_at > when:
                raise IncidentError(
                    f"detected ({ts_text(detected_at)}) is after the declaration ({ts_text(when)})"
                )
        if impact_started_at is not None:
            impact_started_at = self._when(None, impact_started_at)
            if impact_started_at > (detected_at or when):
                raise IncidentError("impact cannot start after it was detected")
        source = "drill" if drill else "manual"
        declared = self._redacted(
            {
                "title": title,
                "severity": sev,
                "service": service,
                "drill": drill,
                "drill_id": drill_id,
                "from_check": declared_from_check,
            }
            | ({"by": by} if by else {})  # absent otherwise: older chains hash the same
        )
        with self._write() as conn:
            iid = conn.execute(
                insert(INC).values(
                    title=declared["title"],
                    severity=sev,
                    status="triage",
                    service=declared["service"],
                    is_drill=drill,
                    drill_id=declared["drill_id"],
                    declared_from_check=declared["from_check"],
                    created_at=when,
                    updated_at=when,
                    postmortem_status="draft",
                    head_seq=0,
                    head_hash="",
                )
            ).inserted_primary_key[0]
            row = self._row(conn, iid, lock=True)
            app = tl.Appender.for_row(conn, row)
            self._append(
                app,
                "declared",
                when,
                f"{tl.public_id(iid)} declared: {title}",
                declared,
                redacted=True,
            )
            if impact_started_at is not None:
                self._milestone(
                    conn, app, row, "impact_started", impact_started_at, source, ts=when
                )
            det_source = detected_source or ("check" if declared_from_check else source)
            self._milestone(conn, app, row, "detected", detected_at or when, det_source, ts=when)
            self._milestone(conn, app, row, "declared", when, source, ts=when)
            for text in notes or []:
                self._append(app, "note", when, text)
            if runbook is not None:
                self._attach(conn, app, row, runbook, when)
        return self.get(iid)

    def ack(
        self, ref: str | int, *, at: datetime | None = None, source: str = "manual"
    ) -> IncidentView:
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            pid = tl.public_id(row["id"])
            if row["acknowledged_at"] is not None:
                raise IncidentError(
                    f"{pid} was already acknowledged at {ts_text(row['acknowledged_at'])}"
                )
            if row["status"] in ("closed", "declined"):
                raise IncidentError(f"{pid} is {row['status']}; it cannot be acknowledged")
            app = tl.Appender.for_row(conn, row)
            self._milestone(conn, app, row, "acknowledged", when, source)
            if row["status"] == "triage":
                self._status(conn, app, row, "investigating", when, source)
        return self.get(row["id"])

    def set_status(
        self,
        ref: str | int,
        status: str,
        *,
        at: datetime | None = None,
        source: str = "manual",
        note: str | None = None,
    ) -> IncidentView:
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            try:
                lc.check_move(tl.public_id(row["id"]), row["status"], status)
            except lc.LifecycleError as exc:
                raise IncidentError(str(exc)) from None
            app = tl.Appender.for_row(conn, row)
            self._status(conn, app, row, status, when, source, note)
        return self.get(row["id"])

    def _status(
        self, conn, app, row, status: str, when: datetime, source: str, note: str | None = None
    ) -> None:
        previous = row["status"]
        conn.execute(update(INC).where(INC.c.id == row["id"]).values(status=status))
        row["status"] = status
        text = f"status {previous} → {status}" + (f": {note}" if note else "")
        self._append(
            app, "status_changed", when, text, {"from": previous, "to": status, "note": note}
        )
        for name in lc.STATUS_MILESTONES.get(status, ()):
            self._milestone(conn, app, row, name, when, source)

    def unfinished(self, ref: str | int, checks: dict[str, Any] | None = None) -> list[Any]:
        """What is unfinished before mitigating or resolving (incidents/unfinished.py):
        ``checks`` maps check ids to their live CheckState; without it, the states the
        latest recorded threshold crossings left."""
        from mlops_oncall.incidents.unfinished import last_recorded_states, what_is_unfinished

        view = self.get(ref)
        if checks is None:
            from mlops_oncall.store.checks_history import transitions

            checks = last_recorded_states(transitions(self.store))
        return what_is_unfinished(view, checks)

    def mitigate(self, ref, **kw) -> IncidentView:
        return self.set_status(ref, "mitigated", **kw)

    def resolve(self, ref, **kw) -> IncidentView:
        return self.set_status(ref, "resolved", **kw)

    def close(self, ref, **kw) -> IncidentView:
        return self.set_status(ref, "closed", **kw)

    def set_severity(
        self, ref: str | int, severity: str, *, at: datetime | None = None
    ) -> IncidentView:
        try:
            sev = lc.normalise_severity(severity)
        except lc.LifecycleError as exc:
            raise BadInput(str(exc)) from None
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            if row["severity"] == sev:
                raise IncidentError(f"{tl.public_id(row['id'])} is already {sev}")
            conn.execute(update(INC).where(INC.c.id == row["id"]).values(severity=sev))
            app = tl.Appender.for_row(conn, row)
            self._append(
                app,
                "severity_changed",
                when,
                f"severity {row['severity']} → {sev}",
                {"from": row["severity"], "to": sev},
            )
        return self.get(row["id"])

    def assign(
        self, ref: str | int, role: str, who: str, *, at: datetime | None = None
    ) -> IncidentView:
        if role not in lc.ROLES:
            raise BadInput(f"unknown role '{role}'; expected one of {', '.join(lc.ROLES)}")
        who = who.strip()
        if not who:
            raise BadInput("--who needs a name")
        who = self.redactor.text(who)
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            current = conn.execute(
                select(ROLE.c.id, ROLE.c.who).where(
                    ROLE.c.incident_id == row["id"], ROLE.c.role == role
                )
            ).first()
            if current:
                conn.execute(
                    update(ROLE).where(ROLE.c.id == current[0]).values(who=who, assigned_at=when)
                )
            else:
                conn.execute(
                    insert(ROLE).values(incident_id=row["id"], role=role, who=who, assigned_at=when)
                )
            app = tl.Appender.for_row(conn, row)
            prev = current[1] if current else None
            text = f"{role}: {who}" + (f" (was {prev})" if prev else "")
            self._append(
                app,
                "role_assigned",
                when,
                text,
                {"role": role, "who": who, "previous": prev},
                redacted=True,
            )
        return self.get(row["id"])

    def milestone(
        self, ref: str | int, name: str, at: datetime, *, source: str = "manual"
    ) -> IncidentView:
        """An explicit correction: it wins over the first setting, and is itself an event."""
        if name not in lc.MILESTONES:
            raise BadInput(
                f"unknown milestone '{name}'; expected one of {', '.join(lc.MILESTONES)}"
            )
        if source not in lc.SOURCES:
            raise BadInput(f"unknown source '{source}'; expected one of {', '.join(lc.SOURCES)}")
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            at = self._when(row, at, allow_before_start=name in ("impact_started", "detected"))
            for first, then in _ORDERED:  # keep the story consistent: detected <= declared, ...
                if first == name and row[f"{then}_at"] and at > row[f"{then}_at"]:
                    raise IncidentError(
                        f"{name} ({ts_text(at)}) cannot be after {then} ({ts_text(row[f'{then}_at'])})"
                    )
                if then == name and row[f"{first}_at"] and at < row[f"{first}_at"]:
                    raise IncidentError(
                        f"{name} ({ts_text(at)}) cannot be before {first} ({ts_text(row[f'{first}_at'])})"
                    )
            app = tl.Appender.for_row(conn, row)
            self._milestone(conn, app, row, name, at, source, correction=True, ts=self.clock.now())
        return self.get(row["id"])

    def note(self, ref: str | int, text: str, *, at: datetime | None = None) -> tl.EventRecord:
        text = text.strip()
        if not text:
            raise BadInput("a note needs text")
        return self.record(ref, "note", text, {}, at=at)

    def record(
        self,
        ref: str | int,
        kind: str,
        text: str = "",
        data: dict | None = None,
        *,
        at: datetime | None = None,
        actor: str | None = None,
    ) -> tl.EventRecord:
        """Append one event of any kind without a state change (notes, check runs, alerts, injects).

        ``actor``: who did it when it was not the responder (``monitor`` for a check's
        threshold crossing seen by the TUI): a blameless timeline does not put a person's name
        on what a machine observed."""
        if kind not in tl.KINDS:
            raise BadInput(f"unknown event kind '{kind}'")
        if kind in FLOW_KINDS or kind in (
            "declared",
            "status_changed",
            "severity_changed",
            "milestone",
            "runbook_attached",
            "role_assigned",
        ):
            raise BadInput(f"'{kind}' events are written by their own command")
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            app = tl.Appender.for_row(conn, row)
            return self._append(app, kind, when, text, data, actor=actor)

    def set_field(
        self, ref: str | int, name: str, value: str, *, at: datetime | None = None
    ) -> IncidentView:
        if name not in NARRATIVE_FIELDS:
            raise BadInput(f"unknown field '{name}'; expected one of {', '.join(NARRATIVE_FIELDS)}")
        if name == "postmortem_status" and value not in ("draft", "final"):
            raise BadInput(f"postmortem status must be draft or final, not '{value}'")
        value = self.redactor.text(value)
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            conn.execute(update(INC).where(INC.c.id == row["id"]).values({name: value}))
            app = tl.Appender.for_row(conn, row)
            short = value if len(value) <= 60 else value[:57] + "..."
            self._append(
                app,
                "field_set",
                when,
                f"{name}: {short}",
                {"field": name, "value": value},
                redacted=True,
            )
        return self.get(row["id"])

    # -- action items ----------------------------------------------------------------------
    def action_add(
        self,
        ref: str | int,
        text: str,
        *,
        type: str,
        owner: str,
        due: date | None = None,
        priority: str | None = None,
        link: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Add an action item: what, its type, owner, due date, priority (P0 most urgent ..
        P3, as the Google SRE postmortem's) and the link to the ticket that tracks it."""
        priority, link = _priority(priority), _link(link)
        if type not in lc.ACTION_TYPES:
            raise BadInput(
                f"unknown action type '{type}'; expected one of {', '.join(lc.ACTION_TYPES)}"
            )
        text = text.strip()
        if not text:
            raise BadInput("an action item needs text")
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            if due is not None:  # before the incident: a typo, such as 12/20 read as last year
                from mlops_oncall.incidents.dates import check_due, local_day

                check_due(due, local_day(row["declared_at"] or row["created_at"], self.zone))
            number = (
                conn.execute(
                    select(func.max(ACTION.c.number)).where(ACTION.c.incident_id == row["id"])
                ).scalar()
                or 0
            ) + 1
            added = self._redacted(
                {
                    "op": "added",
                    "number": number,
                    "type": type,
                    "owner": owner,
                    "due": due.isoformat() if due else None,
                    "text": text,
                }
                # only when given: an item without them hashes as it always did
                | ({"priority": priority} if priority else {})
                | ({"link": link} if link else {})
            )
            item = {
                "incident_id": row["id"],
                "number": number,
                "text": added["text"],
                "type": type,
                "owner": added["owner"],
                "due": due,
                "status": "open",
                "created_at": when,
                "priority": priority,
                "link": added.get("link"),
            }
            conn.execute(insert(ACTION).values(**item))
            app = tl.Appender.for_row(conn, row)
            self._append(
                app,
                "action_item",
                when,
                f"action {number} ({type}, {owner}): {text}",
                added,
                redacted=True,
            )
        return _action_json(item | {"done_at": None})

    def action_done(
        self, ref: str | int, number: int, *, at: datetime | None = None
    ) -> dict[str, Any]:
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            if not 0 < number <= MAX_ID:
                raise IncidentError(f"{tl.public_id(row['id'])} has no action item {number}")
            item = (
                conn.execute(
                    select(ACTION).where(
                        ACTION.c.incident_id == row["id"], ACTION.c.number == number
                    )
                )
                .mappings()
                .first()
            )
            pid = tl.public_id(row["id"])
            if item is None:
                raise IncidentError(f"{pid} has no action item {number}")
            if item["status"] == "done":
                raise IncidentError(f"action item {number} of {pid} is already done")
            conn.execute(
                update(ACTION).where(ACTION.c.id == item["id"]).values(status="done", done_at=when)
            )
            app = tl.Appender.for_row(conn, row)
            self._append(
                app, "action_item", when, f"action {number} done", {"op": "done", "number": number}
            )
            return _action_json(dict(item) | {"status": "done", "done_at": when})

    # -- triage ----------------------------------------------------------------------------
    def attach(
        self, ref: str | int, runbook: Runbook, *, at: datetime | None = None
    ) -> IncidentView:
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            app = tl.Appender.for_row(conn, row)
            self._attach(conn, app, row, runbook, when)
        return self.get(row["id"])

    def _attach(self, conn, app, row, runbook: Runbook, when: datetime) -> None:
        snapshot = runbook.model_dump_json()
        sha = snapshot_sha256(snapshot)
        version = sha[:12]
        data = self._redacted(
            {"runbook": runbook.id, "title": runbook.title, "steps": len(runbook.steps)}
        )
        # the full hash puts the frozen snapshot in the chain (checked before a command runs);
        # added after redaction, so no secret detector can mask a hash as "high entropy"
        data |= {"version": version, "sha256": sha}
        ev = self._append(
            app,
            "runbook_attached",
            when,
            f"runbook {runbook.id}: {runbook.title}",
            data,
            redacted=True,
        )
        conn.execute(
            insert(TRIAGE).values(
                incident_id=row["id"],
                runbook_id=runbook.id,
                version=version,
                snapshot=snapshot,
                attached_seq=ev.seq,
                attached_at=when,
            )
        )

    def _triage(self, conn: Connection, incident_id: int) -> TriageState | None:
        att = conn.execute(
            select(TRIAGE.c.runbook_id, TRIAGE.c.version, TRIAGE.c.snapshot, TRIAGE.c.attached_seq)
            .where(TRIAGE.c.incident_id == incident_id)
            .order_by(TRIAGE.c.attached_seq.desc())
            .limit(1)
        ).first()
        if att is None:
            return None
        runbook = Runbook.model_validate_json(att[2])
        flow = tl.events(conn, incident_id, after_seq=att[3], kinds=FLOW_KINDS)
        return replay(runbook, att[1], att[3], flow)

    def triage(self, ref: str | int) -> TriageState | None:
        with self.store.read() as conn:
            row = self._row(conn, ref)
            return self._triage(conn, row["id"])

    def step(
        self,
        ref: str | int,
        step_id: str,
        outcome: str,
        *,
        note: str | None = None,
        at: datetime | None = None,
    ) -> TriageState:
        note = self.redactor.text(note) if note else note  # stored, and returned in the state
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            state = self._require_triage(conn, row)
            try:
                state.check_outcome(step_id, outcome)
            except TriageError as exc:
                raise IncidentError(str(exc)) from None
            step = state.runbook.step(step_id)
            app = tl.Appender.for_row(conn, row)
            data = {"runbook": state.runbook.id, "step": step_id, "title": step.title}
            if note:
                data["note"] = note
            text = f"{step_id} {outcome}: {step.title}" + (f" — {note}" if note else "")
            ev = self._append(app, OUTCOME_KINDS[outcome], when, text, data)
            state.apply_outcome(
                step_id, outcome, seq=ev.seq, ts=when, actor=self.actor, note=note or ""
            )
            return state

    def decide(
        self,
        ref: str | int,
        step_id: str,
        choice: str,
        *,
        note: str | None = None,
        at: datetime | None = None,
    ) -> TriageState:
        note = self.redactor.text(note) if note else note  # stored, and returned in the state
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            state = self._require_triage(conn, row)
            try:
                c = state.resolve_choice(step_id, choice)
            except TriageError as exc:
                raise IncidentError(str(exc)) from None
            step = state.runbook.step(step_id)
            app = tl.Appender.for_row(conn, row)
            data = {
                "runbook": state.runbook.id,
                "step": step_id,
                "choice": c.label,
                "next": c.next,
                "question": step.question,
            }
            if note:
                data["note"] = note
            text = f"{step_id}: {step.question} → {c.label}" + (f" — {note}" if note else "")
            ev = self._append(app, "decision", when, text, data)
            state.apply_decision(
                step_id, c.label, seq=ev.seq, ts=when, actor=self.actor, note=note or ""
            )
            return state

    def _require_triage(self, conn, row) -> TriageState:
        state = self._triage(conn, row["id"])
        if state is None:
            pid = tl.public_id(row["id"])
            raise IncidentError(
                f"{pid} has no runbook attached; attach one with `incident attach {pid} RUNBOOK`"
            )
        return state

    # -- reads -----------------------------------------------------------------------------
    def get(self, ref: str | int) -> IncidentView:
        with self.store.read() as conn:
            return self._view(conn, ref)

    def _view(self, conn: Connection, ref: str | int) -> IncidentView:
        row = self._row(conn, ref)
        iid = row["id"]
        roles = dict(
            conn.execute(select(ROLE.c.role, ROLE.c.who).where(ROLE.c.incident_id == iid)).all()
        )
        actions = [
            _action_json(dict(a))
            for a in conn.execute(
                select(ACTION).where(ACTION.c.incident_id == iid).order_by(ACTION.c.number)
            ).mappings()
        ]
        return IncidentView(row, roles, actions, self._triage(conn, iid))

    def list(
        self,
        *,
        status: str | None = None,
        drills: bool | None = None,
        service: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        q = select(INC).order_by(INC.c.id.desc())
        if status == "open":
            q = q.where(INC.c.status.in_(lc.OPEN_STATUSES))
        elif status:
            if status not in lc.STATUSES:
                raise BadInput(
                    f"unknown status '{status}'; expected open or one of {', '.join(lc.STATUSES)}"
                )
            q = q.where(INC.c.status == status)
        if drills is not None:
            q = q.where(INC.c.is_drill == drills)
        if service:
            q = q.where(INC.c.service == service)
        if limit:
            q = q.limit(limit)
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def events(self, ref: str | int, *, after_seq: int = 0) -> list[tl.EventRecord]:
        with self.store.read() as conn:
            row = self._row(conn, ref)
            return tl.events(conn, row["id"], after_seq=after_seq)

    def latest(self, ref: str | int, limit: int = 100) -> list[tl.EventRecord]:
        """The newest events, oldest first. The TUI calls this on every refresh: one query."""
        iid = parse_ref(ref)
        with self.store.single_read() as conn:
            rows = tl.latest(conn, iid, limit)
        if not rows:
            self.get(ref)  # every incident has events; none means no such incident
        return rows

    def head(self, ref: str | int) -> tuple[int, str]:
        with self.store.read() as conn:
            row = conn.execute(
                select(INC.c.head_seq, INC.c.head_hash).where(INC.c.id == parse_ref(ref))
            ).first()
            if row is None:
                raise IncidentError(f"unknown incident '{ref}'")
            return row[0], row[1]

    def verify(self, ref: str | int) -> Integrity:
        """The chain, every summary column against the replayed chain, and the witness."""
        iid = parse_ref(ref)
        w = self.witness
        # read before the transaction: every head witnessed by then is in what it will see
        reading = w.read(tl.public_id(iid)) if w is not None else None
        with self.store.read() as conn:
            if conn.execute(select(INC.c.id).where(INC.c.id == iid)).first() is None:
                raise IncidentError(f"unknown incident '{ref}'")
            return integrity.check(conn, iid, reading, w.key if w is not None else None)

    def verified_triage(self, ref: str | int) -> TriageState | None:
        """The attached runbook (None if there is none), after checking its frozen snapshot
        against the chain: the sha256 its attach event recorded (or, for older records, the
        12-hex version), and that event's own hash. Call before running any of its commands;
        raises TamperedError if they disagree."""
        with self.store.read() as conn:
            row = self._row(conn, ref)
            pid = tl.public_id(row["id"])
            stored = tl.stored_summary(conn, row["id"])["runbooks"]
            if not stored:
                return None
            # checked before the snapshot is parsed: an edited one need not even be valid
            att = max(stored, key=lambda t: t["attached_seq"])
            ev = tl.event_at(conn, row["id"], att["attached_seq"])
            problem = None
            if ev is None or ev.kind != "runbook_attached" or not tl.intact(ev, pid):
                problem = f"its attach event {att['attached_seq']} is missing or was edited"
            else:
                found = integrity.snapshot_problem(snapshot_sha256(att["snapshot"] or ""), ev.data)
                if found:
                    problem = f"the stored snapshot {found}"
            if problem:
                raise TamperedError(
                    f"{pid}: the runbook {att['runbook_id']} does not match the timeline "
                    f"({problem}); its commands will not run. See `mlops-oncall incident "
                    f"verify {pid}`"
                )
            return self._triage(conn, row["id"])

    def export(self, ref: str | int, verdict: Integrity | None = None) -> Iterator[str]:
        """The full record as one JSON document, streamed, read in one transaction.

        Events are arrays of exactly the strings that were hashed (EXPORT_COLUMNS), so anyone
        can re-verify the chain from the export alone with the recipe it carries. ``verdict``
        (from ``verify``) goes first, so a reader sees a failed verification before anything
        else.
        """
        from mlops_oncall.jsonout import dumps

        with self.store.read() as conn:
            view = self._view(conn, ref)
            doc = {} if verdict is None else {"verification": verification_json(verdict)}
            doc |= {
                "format": "mlops-oncall-evidence/1",
                "incident": view.to_json(),
                "hash_recipe": HASH_RECIPE,
                "event_columns": list(tl.EXPORT_COLUMNS),
            }
            yield dumps(doc, pretty=False)[:-1] + ',"events":['
            first = True
            for batch in tl.export_rows(conn, view.row["id"]):
                chunk = json.dumps(batch, ensure_ascii=False)[1:-1]
                yield chunk if first else "," + chunk
                first = False
            head = {"seq": view.row["head_seq"], "hash": view.row["head_hash"]}
            yield '],"head":' + json.dumps(head) + "}\n"


def verification_banner(verdict: Integrity) -> str | None:
    """The line documents of an incident that fails verification start with; None if it passes."""
    if verdict.ok:
        return None
    problems = verdict.problems
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (
        f"WARNING: {verdict.id} FAILED VERIFICATION: {problems[0]}{more}. The stored record "
        f"does not match its timeline; run `mlops-oncall incident verify {verdict.id}`."
    )


def verification_json(verdict: Integrity) -> dict[str, Any]:
    return {
        "ok": verdict.ok,
        "banner": verification_banner(verdict),
        "problems": verdict.problems,
        "not_checked": verdict.not_checked,
    }


HASH_RECIPE = (
    "hash = sha256(utf8(json_array([incident_id, seq, ts, actor, kind, text, data_json, "
    "prev_hash]))) with separators ',' ':' and no ASCII escaping; the first prev_hash is 64 zeros"
)

# Pairs of milestones that must be in this order (checked in this order, so errors are stable).
_ORDERED = (
    ("impact_started", "detected"),
    ("impact_started", "declared"),
    ("detected", "declared"),
    ("detected", "acknowledged"),
    ("detected", "mitigated"),
    ("detected", "resolved"),
    ("impact_started", "mitigated"),
    ("impact_started", "resolved"),
    ("mitigated", "resolved"),
)


def _short(ts: datetime) -> str:
    """A timestamp for event text: to the second, UTC. The data keeps full precision."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


PRIORITIES = ("P0", "P1", "P2", "P3")
MAX_LINK = 2000


def _priority(value: str | None) -> str | None:
    if value is None:
        return None
    p = value.strip().upper()
    if p not in PRIORITIES:
        raise BadInput(
            f"unknown priority '{value}'; expected one of {', '.join(PRIORITIES)} (P0 most urgent)"
        )
    return p


def _link(value: str | None) -> str | None:
    """The tracking ticket: a URL or an id such as OPS-123, one token with no spaces."""
    if value is None:
        return None
    link = value.strip()
    if not link or len(link) > MAX_LINK or any(c.isspace() or not c.isprintable() for c in link):
        raise BadInput(
            f"a tracking link is a URL or a ticket id with no spaces, at most {MAX_LINK} "
            "characters (https://tracker/OPS-123 or OPS-123)"
        )
    return link


def _action_json(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": a["number"],
        "text": a["text"],
        "type": a["type"],
        "owner": a["owner"],
        "due": a["due"],
        "priority": a.get("priority"),
        "link": a.get("link"),
        "status": a["status"],
        "created_at": a["created_at"],
        "done_at": a.get("done_at"),
    }
