"""Incidents: every change is one write transaction that checks the rules against the current
row, updates it, and appends the matching timeline events, so the record and the state agree.

The CLI, the TUI and drills all go through this class; none of them writes tables directly.
It is the facade: the write path is writer.py, action items actions.py and triage
operations triageops.py; the lifecycle, the reads and the export are here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from mlops_oncall.formats.errors import BadInput, IncidentError
from mlops_oncall.formats.refs import parse_ref, public_id
from mlops_oncall.formats.timestamps import utc_seconds
from mlops_oncall.incidents import integrity
from mlops_oncall.incidents import lifecycle as lc
from mlops_oncall.incidents.actions import ActionItems, action_json
from mlops_oncall.incidents.integrity import Integrity
from mlops_oncall.incidents.triage import FLOW_KINDS, TriageState
from mlops_oncall.incidents.triageops import TamperedError as TamperedError  # raised here too
from mlops_oncall.incidents.triageops import TriageOps
from mlops_oncall.incidents.writer import retried
from mlops_oncall.runbooks.schema import Runbook
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.models import ActionItem as ActionRecord
from mlops_oncall.store.models import Incident as IncidentRecord
from mlops_oncall.store.tables import ActionItem as ACTION
from mlops_oncall.store.tables import Incident as INC
from mlops_oncall.store.tables import RoleAssignment as ROLE
from mlops_oncall.store.types import ts_text

NARRATIVE_FIELDS = lc.NARRATIVE_FIELDS


class RoleHeld(IncidentError):
    """Someone else holds the role; taking it from them must be explicit. Exit 1."""

    def __init__(self, incident: str, role: str, holder: str, since: datetime):
        self.incident, self.role, self.holder = incident, role, holder
        self.held = f"{incident}'s {role} is {holder} (since {utc_seconds(since)})"
        super().__init__(f"{self.held}; taking the role from them must be explicit")


@dataclass
class IncidentView:
    """An incident as read for display or JSON: the record plus roles (role -> who), action
    items and the triage state."""

    row: IncidentRecord
    roles: dict[str, str] = field(default_factory=dict)
    actions: list[ActionRecord] = field(default_factory=list)
    triage: TriageState | None = None

    @property
    def id(self) -> str:
        return public_id(self.row.id)

    def milestone(self, name: str) -> datetime | None:
        return getattr(self.row, f"{name}_at")

    def to_json(self) -> dict[str, Any]:
        from mlops_oncall.incidents.metrics import duration, incident_metrics

        r = self.row.model_dump()
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
            "metrics": incident_metrics(self.row) | {"duration": duration(self.row)},
            "roles": self.roles,
            "narrative": {f: r[f] for f in NARRATIVE_FIELDS},
            "action_items": [action_json(a) for a in self.actions],
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


class Incidents(ActionItems, TriageOps):
    # -- lifecycle -------------------------------------------------------------------------
    @retried
    def declare(self, title: str, severity: str, **kw: Any) -> IncidentView:
        """Declare an incident; the keywords are ``declare_in``'s."""
        with self._write() as conn:
            iid = self.declare_in(conn, title, severity, **kw)
        return self.get(iid)

    def declare_in(
        self,
        conn: Connection,
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
    ) -> int:
        """The work of ``declare`` inside a write transaction the caller opened with
        ``_write()``: an alert group and the incident it declares commit together
        (alerts/service.py). Returns the new incident's id.

        ``by``: who declared it when it was not the actor themselves (a drill's game master),
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
            f"{public_id(iid)} declared: {title}",
            declared,
            redacted=True,
        )
        if impact_started_at is not None:
            self._milestone(conn, app, row, "impact_started", impact_started_at, source, ts=when)
        det_source = detected_source or ("check" if declared_from_check else source)
        self._milestone(conn, app, row, "detected", detected_at or when, det_source, ts=when)
        self._milestone(conn, app, row, "declared", when, source, ts=when)
        for text in notes or []:
            self._append(app, "note", when, text)
        if runbook is not None:
            self._attach(conn, app, row, runbook, when)
        return iid

    @retried
    def ack(
        self, ref: str | int, *, at: datetime | None = None, source: str = "manual"
    ) -> IncidentView:
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            pid = public_id(row["id"])
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

    @retried
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
                lc.check_move(public_id(row["id"]), row["status"], status)
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

    @retried
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
                raise IncidentError(f"{public_id(row['id'])} is already {sev}")
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

    @retried
    def assign(
        self,
        ref: str | int,
        role: str,
        who: str | None = None,
        *,
        at: datetime | None = None,
        take_over: bool = False,
    ) -> IncidentView:
        """Give ``role`` to ``who`` (default: the actor). A role someone else holds is refused
        (RoleHeld) unless ``take_over``, which the event records; giving it to its holder
        again changes nothing. The incident's lock makes two claims at once take turns, so
        exactly one wins."""
        if role not in lc.ROLES:
            raise BadInput(f"unknown role '{role}'; expected one of {', '.join(lc.ROLES)}")
        who = (self.actor if who is None else who).strip()
        if not who:
            raise BadInput("--who needs a name")
        who = self.redactor.text(who)
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            current = conn.execute(
                select(ROLE.c.id, ROLE.c.who, ROLE.c.assigned_at).where(
                    ROLE.c.incident_id == row["id"], ROLE.c.role == role
                )
            ).first()
            if current and current[1] == who:
                return self._view(conn, row["id"])  # already theirs: nothing to record
            if current and not take_over:
                raise RoleHeld(public_id(row["id"]), role, current[1], current[2])
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
            text = f"{role}: {who}" + (f" (taken over from {prev})" if prev else "")
            data = {"role": role, "who": who, "previous": prev}
            # only when it happened: older chains hash the same
            self._append(
                app,
                "role_assigned",
                when,
                text,
                data | ({"take_over": True} if prev else {}),
                redacted=True,
            )
        return self.get(row["id"])

    @retried
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

    @retried
    def record(
        self,
        ref: str | int,
        kind: str,
        text: str = "",
        data: dict | None = None,
        *,
        at: datetime | None = None,
        actor: str | None = None,
        unless: Callable[[Connection, int], bool] | None = None,
        then: Callable[[Connection, int, tl.EventRecord], None] | None = None,
    ) -> tl.EventRecord | None:
        """Append one event of any kind without a state change (notes, check runs, alerts, injects).

        ``actor``: who did it when it was not the responder (``monitor`` for a check's
        threshold crossing seen by the TUI): a blameless timeline does not put a person's name
        on what a machine observed. ``unless(conn, incident_id)``, asked with the incident
        locked, skips the append (None) when it is true: an event written once by whichever
        process notices first (``update_overdue``). ``then(conn, incident_id, event)`` runs
        after the append in the same transaction: a write that must commit with the event or
        not at all (the notification queue's rows)."""
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
            if unless is not None and unless(conn, row["id"]):
                return None
            when = self._when(row, at)
            app = tl.Appender.for_row(conn, row)
            event = self._append(app, kind, when, text, data, actor=actor)
            if then is not None:
                then(conn, row["id"], event)
            return event

    @retried
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
            ActionRecord.model_validate(a)
            for a in conn.execute(
                select(ACTION).where(ACTION.c.incident_id == iid).order_by(ACTION.c.number)
            ).mappings()
        ]
        record = IncidentRecord.model_validate(row)
        return IncidentView(record, roles, actions, self._triage(conn, iid))

    def list(
        self,
        *,
        status: str | None = None,
        drills: bool | None = None,
        service: str | None = None,
        limit: int | None = None,
    ) -> list[IncidentRecord]:
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
            return [IncidentRecord.model_validate(r) for r in conn.execute(q).mappings()]

    def in_window(self, since: datetime, until: datetime, *, drills: bool) -> list[IncidentRecord]:
        """Incidents (or drills) declared in [since, until), oldest first."""
        q = (
            select(INC)
            .where(
                INC.c.is_drill.is_(drills), INC.c.declared_at >= since, INC.c.declared_at < until
            )
            .order_by(INC.c.declared_at, INC.c.id)
        )
        with self.store.read() as conn:
            return [IncidentRecord.model_validate(r) for r in conn.execute(q).mappings()]

    def metrics(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, Any]:
        """TTx over the incidents declared in [since, until): incidents/metrics.py."""
        from mlops_oncall.incidents.metrics import window_metrics

        with self.store.read() as conn:
            return window_metrics(conn, since, until)

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

    def last_handoff(self) -> tuple[str, tl.EventRecord] | None:
        """The newest `handoff` event (on any incident) with its incident's public id: the
        next hand-off note starts from it."""
        with self.store.read() as conn:
            found = tl.newest_of_kind(conn, "handoff")
        return None if found is None else (public_id(found[0]), found[1])

    def open_or_changed(self, since: datetime) -> list[IncidentRecord]:
        """Incidents (no drills) still open, or changed at or after ``since`` (every append
        moves ``updated_at``), oldest first: what a shift hand-off covers."""
        q = (
            select(INC)
            .where(
                INC.c.is_drill.is_(False),
                or_(INC.c.status.in_(lc.OPEN_STATUSES), INC.c.updated_at >= since),
            )
            .order_by(INC.c.id)
        )
        with self.store.read() as conn:
            return [IncidentRecord.model_validate(r) for r in conn.execute(q).mappings()]

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
        reading = w.read(public_id(iid)) if w is not None else None
        with self.store.read() as conn:
            if conn.execute(select(INC.c.id).where(INC.c.id == iid)).first() is None:
                raise IncidentError(f"unknown incident '{ref}'")
            return integrity.check(conn, iid, reading, w.key if w is not None else None)

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
            for batch in tl.export_rows(conn, view.row.id):
                chunk = json.dumps(batch, ensure_ascii=False)[1:-1]
                yield chunk if first else "," + chunk
                first = False
            head = {"seq": view.row.head_seq, "hash": view.row.head_hash}
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
