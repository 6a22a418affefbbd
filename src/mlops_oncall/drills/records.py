"""The drill records: each run of a scenario and the injects delivered to it.

One service reads and writes them for the runner, the scoring, the debrief, the game master's
console (``drill control``), the CLI and the TUI. SQL for drills lives here (and in the store),
never under ui/ or cli/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.refs import drill_ref, public_id
from mlops_oncall.store.models import Drill, DrillInject, Incident

# Core statements on the models' tables; rows come back as the models (typed records)
DR = Drill.__table__
DI = DrillInject.__table__
INC = Incident.__table__


@dataclass(frozen=True)
class Delivery:
    """One inject as delivered: from the schedule, fired early, or free-form (number None)."""

    type: str
    offset_s: float
    at: datetime
    number: int | None = None
    target: str | None = None
    fault: str | None = None
    params: dict[str, Any] | None = None
    text: str | None = None
    source: str = "schedule"  # schedule | game_master


class DrillRecords:
    """The drill rows (``Drill``) and their delivered injects (``DrillInject``)."""

    def __init__(self, store, clock: Clock = SYSTEM, redactor=None, actor: str = ""):
        self.store = store
        self.clock = clock
        self.redactor = redactor
        self.actor = actor

    # -- a drill ----------------------------------------------------------------------
    def begin(
        self,
        scenario,
        *,
        mode: str,
        speed: float,
        started_at: datetime,
        control_url: str | None = None,
    ) -> int:
        """Record a drill as running; its id."""
        with self.store.write() as conn:
            return conn.execute(
                insert(DR).values(
                    scenario_id=scenario.id,
                    title=scenario.title,
                    scenario=scenario.model_dump_json(),
                    mode=mode,
                    speed=speed,
                    status="running",
                    result="{}",
                    started_at=started_at,
                    control_url=control_url,
                    actor=self.actor,
                )
            ).inserted_primary_key[0]

    def finish(self, drill_id: int, result: dict[str, Any], *, status: str = "finished") -> None:
        """The drill ended with a score: its result is kept beside it."""
        with self.store.write() as conn:
            conn.execute(
                update(DR)
                .where(DR.c.id == drill_id)
                .values(
                    status=status,
                    finished_at=self.clock.now(),
                    score=result["score"],
                    result=json.dumps(result, default=str),
                )
            )

    def fail(self, drill_id: int, reason: str, *, status: str = "failed") -> bool:
        """Mark a drill still running as ended early (failed or aborted), with why (redacted);
        True if it was running. False when even the store cannot say so."""
        values = {
            "status": status,
            "finished_at": self.clock.now(),
            "result": json.dumps({"error": self.redact(reason)}),
        }
        # An interrupt can land inside a write and leave that connection unusable: try again
        # on fresh connections before giving up, so the drill is not left "running".
        for attempt in range(3):
            try:
                with self.store.write() as conn:
                    done = conn.execute(
                        update(DR)
                        .where(DR.c.id == drill_id, DR.c.status == "running")
                        .values(**values)
                    )
                return done.rowcount == 1
            except Exception:
                if attempt == 2:
                    return False
                self.store.engine.dispose()
        return False

    def get(self, drill_id: int) -> Drill | None:
        """The drill, or None when there is no such drill."""
        with self.store.read() as conn:
            row = conn.execute(select(DR).where(DR.c.id == drill_id)).mappings().first()
        return None if row is None else Drill.model_validate(row)

    def latest_id(self) -> int | None:
        """The id of the newest drill, or None when none has been run."""
        with self.store.read() as conn:
            return conn.execute(select(func.max(DR.c.id))).scalar()

    def list(self) -> list[Drill]:
        """Every drill, newest first."""
        with self.store.read() as conn:
            rows = conn.execute(select(DR).order_by(DR.c.id.desc())).mappings().all()
        return [Drill.model_validate(r) for r in rows]

    def runs(self) -> dict[str, dict[str, Any]]:
        """Drill runs by their public id (DRILL-0001): the scenario and the score kept at the
        end (what the weekly report shows beside each drill incident)."""
        with self.store.read() as conn:
            rows = conn.execute(select(DR.c.id, DR.c.scenario_id, DR.c.score, DR.c.status)).all()
        return {drill_ref(r[0]): {"scenario": r[1], "score": r[2], "status": r[3]} for r in rows}

    # -- its injects --------------------------------------------------------------------
    def deliver(self, drill_id: int, d: Delivery) -> bool:
        """Record a delivery; False when that numbered inject was already delivered."""
        values = {
            "drill_id": drill_id,
            "number": d.number,
            "type": d.type,
            "target": d.target,
            "fault": d.fault,
            "params": json.dumps(d.params or {}, default=str),
            "text": d.text,
            "source": d.source,
            "offset_s": d.offset_s,
            "at": d.at,
        }
        with self.store.write() as conn:
            if (
                d.number is not None
                and conn.execute(
                    select(DI.c.id).where(DI.c.drill_id == drill_id, DI.c.number == d.number)
                ).first()
            ):
                return False
            conn.execute(insert(DI).values(**values))
        return True

    def injects(self, drill_id: int) -> list[DrillInject]:
        """Everything delivered to the drill (scheduled, fired or sent by the game master)."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(DI).where(DI.c.drill_id == drill_id).order_by(DI.c.id)
            ).mappings()
            return [DrillInject.model_validate(r) for r in rows]

    def delivered(self, drill_id: int) -> dict[int, float]:
        """The scenario's injects delivered so far: number -> drill seconds of the delivery."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(DI.c.number, DI.c.offset_s).where(
                    DI.c.drill_id == drill_id, DI.c.number.is_not(None)
                )
            )
            return {r[0]: r[1] for r in rows}

    def game_master_messages(self, drill_id: int) -> list[Row]:
        """Free-form deliveries from `drill control` (id, type, text), oldest first."""
        with self.store.read() as conn:
            return list(
                conn.execute(
                    select(DI.c.id, DI.c.type, DI.c.text)
                    .where(
                        DI.c.drill_id == drill_id,
                        DI.c.source == "game_master",
                        DI.c.number.is_(None),
                    )
                    .order_by(DI.c.id)
                )
            )

    # -- what a drill declared ------------------------------------------------------------
    def incidents_of(self, ref: str) -> list[str]:
        """Every incident declared with this drill id (DRILL-0001), oldest first."""
        with self.store.read() as conn:
            rows = conn.execute(select(INC.c.id).where(INC.c.drill_id == ref).order_by(INC.c.id))
            return [public_id(r[0]) for r in rows]

    def incident_of(self, ref: str) -> str | None:
        """The drill's incident: the first declared with this drill id."""
        found = self.incidents_of(ref)
        return found[0] if found else None

    def record_transitions(self, moved: list[Any]) -> None:
        """Check transitions seen by a headless drill, which polls the checks itself."""
        from mlops_oncall.store.checks_history import record_transitions

        record_transitions(self.store, moved)

    def redact(self, text: str) -> str:
        """The workspace's redaction; the credential patterns alone if that cannot load."""
        try:
            return self.redactor.text(text) if self.redactor is not None else _redact(text)
        except Exception:  # the workspace's secrets may be what is broken
            return _redact(text)


def _redact(text: str) -> str:
    from mlops_oncall.redact import redact

    return redact(text)
