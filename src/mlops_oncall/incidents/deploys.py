"""Deployments and the DORA figures built on them (DESIGN.md, Vocabulary).

Change failure rate = (failed + rolled_back) / all deploys in the window. Failed-deployment
recovery time = from a failed deploy to the resolution of its linked incident, or else to the
next succeeded deploy of the same service; a deploy not yet recovered is left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.incidents.metrics import summarise
from mlops_oncall.incidents.service import BadInput, IncidentError, parse_ref
from mlops_oncall.redact import Redactor
from mlops_oncall.store.db import Store
from mlops_oncall.store.tables import Deployment, Incident
from mlops_oncall.store.timeline import public_id

DEP = Deployment
INC = Incident
KINDS = ("model", "config", "code")
OUTCOMES = ("succeeded", "failed", "rolled_back")
FAILED = ("failed", "rolled_back")


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "service": row["service"],
        "version": row["version"],
        "kind": row["kind"],
        "outcome": row["outcome"],
        "at": row["at"],
        "incident": public_id(row["incident_id"]) if row["incident_id"] else None,
        "actor": row["actor"],
        "notes": row["notes"],
    }


class Deploys:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM,
        actor: str = "unknown",
        redactor: Redactor | None = None,
    ):
        self.store = store
        self.clock = clock
        self.actor = actor
        self.redactor = redactor or Redactor()

    def record(
        self,
        service: str,
        version: str,
        kind: str,
        outcome: str,
        *,
        incident: str | None = None,
        at: datetime | None = None,
        notes: str | None = None,
    ) -> dict[str, Any]:
        if kind not in KINDS:
            raise BadInput(f"unknown deploy kind '{kind}'; expected one of {', '.join(KINDS)}")
        if outcome not in OUTCOMES:
            raise BadInput(f"unknown outcome '{outcome}'; expected one of {', '.join(OUTCOMES)}")
        if not service.strip() or not version.strip():
            raise BadInput("a deploy needs a service and a version")
        now = self.clock.now()
        when = (at or now).astimezone(UTC)
        if when > now:
            raise IncidentError(f"{when.isoformat()} is in the future")
        with self.store.write() as conn:
            incident_id = None
            if incident:
                incident_id = parse_ref(incident)
                if conn.execute(select(INC.c.id).where(INC.c.id == incident_id)).first() is None:
                    raise IncidentError(f"unknown incident '{incident}'")
            r = self.redactor  # a token pasted into --notes (or anywhere) is never stored
            values = {
                "service": r.text(service.strip()),
                "version": r.text(version.strip()),
                "kind": kind,
                "outcome": outcome,
                "at": when,
                "incident_id": incident_id,
                "actor": self.actor,
                "notes": r.text(notes) if notes else notes,
            }
            new_id = conn.execute(insert(DEP).values(**values)).inserted_primary_key[0]
        return _json({"id": new_id, **values})

    def list(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        q = select(DEP).order_by(DEP.c.at.desc(), DEP.c.id.desc())
        if service:
            q = q.where(DEP.c.service == service)
        if since:
            q = q.where(DEP.c.at >= since)
        if until:
            q = q.where(DEP.c.at < until)
        if limit:
            q = q.limit(limit)
        with self.store.read() as conn:
            return [_json(dict(r)) for r in conn.execute(q).mappings()]

    def dora(self, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        """Deploy count, change failure rate and failed-deployment recovery time in a window."""
        in_window = self.list(since=since, until=until)
        failed = [d for d in in_window if d["outcome"] in FAILED]
        recoveries = []
        with self.store.read() as conn:
            for d in failed:
                end = None
                if d["incident"]:
                    end = conn.execute(
                        select(INC.c.resolved_at).where(INC.c.id == parse_ref(d["incident"]))
                    ).scalar()
                if end is None:
                    end = conn.execute(
                        select(DEP.c.at)
                        .where(
                            DEP.c.service == d["service"],
                            DEP.c.outcome == "succeeded",
                            DEP.c.at > d["at"],
                        )
                        .order_by(DEP.c.at)
                        .limit(1)
                    ).scalar()
                if end is not None:
                    recoveries.append(
                        {
                            "deploy": d["id"],
                            "service": d["service"],
                            "seconds": (end - d["at"]).total_seconds(),
                        }
                    )
        n = len(in_window)
        return {
            "since": since,
            "until": until,
            "deploys": n,
            "failed": sum(d["outcome"] == "failed" for d in in_window),
            "rolled_back": sum(d["outcome"] == "rolled_back" for d in in_window),
            "change_failure_rate": (len(failed) / n) if n else None,
            "recovery": summarise([r["seconds"] for r in recoveries]) | {"items": recoveries},
        }
