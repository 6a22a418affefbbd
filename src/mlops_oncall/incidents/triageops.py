"""Triage operations on an incident: attach a runbook (its snapshot frozen in the chain), record
a step's outcome or a decision, and read the state back (triage.py replays it from the events).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from mlops_oncall.formats.errors import IncidentError
from mlops_oncall.formats.refs import public_id
from mlops_oncall.incidents import integrity
from mlops_oncall.incidents.integrity import snapshot_sha256
from mlops_oncall.incidents.triage import (
    FLOW_KINDS,
    OUTCOME_KINDS,
    TriageError,
    TriageState,
    replay,
)
from mlops_oncall.incidents.writer import Writer, retried
from mlops_oncall.runbooks.schema import Runbook
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.tables import TriageRunbook as TRIAGE

if TYPE_CHECKING:
    from mlops_oncall.incidents.service import IncidentView

# what a flow event is: its kind, text and data, and how it moves the state once recorded
_Event = tuple[str, str, dict[str, Any], Callable[..., object]]


class TamperedError(IncidentError):
    """Stored data disagrees with the timeline, so acting on it is refused. Exit 1."""


class TriageOps(Writer):
    @retried
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
        def event(state: TriageState) -> _Event:
            state.check_outcome(step_id, outcome)
            step = state.runbook.step(step_id)
            data = {"runbook": state.runbook.id, "step": step_id, "title": step.title}
            text = f"{step_id} {outcome}: {step.title}"
            return (
                OUTCOME_KINDS[outcome],
                text,
                data,
                partial(state.apply_outcome, step_id, outcome),
            )

        return self._flow(ref, note, at, event)

    def decide(
        self,
        ref: str | int,
        step_id: str,
        choice: str,
        *,
        note: str | None = None,
        at: datetime | None = None,
    ) -> TriageState:
        def event(state: TriageState) -> _Event:
            c = state.resolve_choice(step_id, choice)
            step = state.runbook.step(step_id)
            data = {
                "runbook": state.runbook.id,
                "step": step_id,
                "choice": c.label,
                "next": c.next,
                "question": step.question,
            }
            text = f"{step_id}: {step.question} → {c.label}"
            return "decision", text, data, partial(state.apply_decision, step_id, c.label)

        return self._flow(ref, note, at, event)

    @retried
    def _flow(
        self,
        ref: str | int,
        note: str | None,
        at: datetime | None,
        event: Callable[[TriageState], _Event],
    ) -> TriageState:
        """Record one flow event (a step's outcome or a decision) that ``event`` admits
        against the current state, and apply it to that state."""
        note = self.redactor.text(note) if note else note  # stored, and returned in the state
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            state = self._require_triage(conn, row)
            try:
                kind, text, data, apply = event(state)
            except TriageError as exc:
                raise IncidentError(str(exc)) from None
            if note:
                data["note"] = note
                text += f" — {note}"
            ev = self._append(tl.Appender.for_row(conn, row), kind, when, text, data)
            apply(seq=ev.seq, ts=when, actor=self.actor, note=note or "")
            return state

    def _require_triage(self, conn, row) -> TriageState:
        state = self._triage(conn, row["id"])
        if state is None:
            pid = public_id(row["id"])
            raise IncidentError(
                f"{pid} has no runbook attached; attach one with `incident attach {pid} RUNBOOK`"
            )
        return state

    def verified_triage(self, ref: str | int) -> TriageState | None:
        """The attached runbook (None if there is none), after checking its frozen snapshot
        against the chain: the sha256 its attach event recorded (or, for older records, the
        12-hex version), and that event's own hash. Call before running any of its commands;
        raises TamperedError if they disagree."""
        with self.store.read() as conn:
            row = self._row(conn, ref)
            pid = public_id(row["id"])
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
