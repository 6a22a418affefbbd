"""Deployments and the DORA figures built on them (dora.dev, "DORA's software delivery metrics").

Change failure rate: the share of deployments that needed intervention afterwards, that is a
deploy that failed, was rolled back, was later linked to an incident (whatever its recorded
outcome), or was hot-fixed by a later deploy. Failed-deployment recovery time: from such a
deploy to the service being restored: its incident's mitigation when it is linked to one, else
the rollback (when it was marked rolled back), else the next succeeded deploy of the same
service. A deploy not yet recovered is left out, never counted as zero.

A rollback is the outcome of the deploy that went bad: it is recorded on that version, and the
version rolled back to is kept beside it (``rolled_back_to``), never counted as a new deploy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.errors import BadInput, IncidentError
from mlops_oncall.formats.refs import parse_ref, public_id
from mlops_oncall.incidents.metrics import summarise
from mlops_oncall.redact import DEFAULT, Redactor
from mlops_oncall.store import live
from mlops_oncall.store.db import Store
from mlops_oncall.store.locks import lock_key
from mlops_oncall.store.models import Deployment as DeploymentRecord
from mlops_oncall.store.tables import Deployment, Incident
from mlops_oncall.store.types import ts_text

DEP = Deployment
INC = Incident
KINDS = ("model", "config", "code")
OUTCOMES = ("succeeded", "failed", "rolled_back")
FAILED = ("failed", "rolled_back")
MAX_ID = 2**63 - 1  # SQLite's largest integer: no deploy has a larger id


def deploy_json(d: DeploymentRecord) -> dict[str, Any]:
    """A deploy in `--json` (and in templates): the incident by its public id."""
    return {
        "id": d.id,
        "service": d.service,
        "version": d.version,
        "kind": d.kind,
        "outcome": d.outcome,
        "at": d.at,
        "incident": public_id(d.incident_id) if d.incident_id else None,
        "actor": d.actor,
        "notes": d.notes,
        "rolled_back_to": d.rolled_back_to,
        "outcome_at": d.outcome_at,
        "hotfix_of": d.hotfix_of,
        "updated_at": d.updated_at,
    }


def parse_deploy_ref(ref: str | int) -> int:
    """`12` -> 12; anything no deploy can have is an unknown deploy (exit 1)."""
    text = str(ref).strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0
    if not 0 < number <= MAX_ID:
        raise IncidentError(f"unknown deploy '{ref}' (deploy ids are numbers, see deploy list)")
    return number


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
        self.redactor = redactor or DEFAULT  # shapes only: a service built without a Session

    # -- helpers ---------------------------------------------------------------------------
    def _when(self, at: datetime | None) -> datetime:
        now = self.clock.now()
        when = (at or now).astimezone(UTC)
        if when > now:
            raise IncidentError(f"{when.isoformat()} is in the future")
        return when

    def _incident(self, conn: Connection, incident: str | None) -> int | None:
        if not incident:
            return None
        incident_id = parse_ref(incident)
        if conn.execute(select(INC.c.id).where(INC.c.id == incident_id)).first() is None:
            raise IncidentError(f"unknown incident '{incident}'")
        return incident_id

    def _row(self, conn: Connection, ref: str | int) -> dict[str, Any]:
        row = conn.execute(select(DEP).where(DEP.c.id == parse_deploy_ref(ref))).mappings().first()
        if row is None:
            raise IncidentError(f"unknown deploy '{ref}' (see deploy list)")
        return dict(row)

    def _hotfix_target(self, conn: Connection, ref: str | int | None, service: str, when):
        if ref is None:
            return None
        target = self._row(conn, ref)
        if target["service"] != service:
            raise IncidentError(
                f"deploy {target['id']} is of {target['service']}, not {service}; "
                "a hotfix fixes a deploy of the same service"
            )
        if target["at"] >= when:
            raise IncidentError(f"deploy {target['id']} is not before this one; it cannot be fixed")
        return target["id"]

    @staticmethod
    def _check_outcome(outcome: str | None, rolled_back_to: str | None) -> None:
        if outcome is not None and outcome not in OUTCOMES:
            raise BadInput(f"unknown outcome '{outcome}'; expected one of {', '.join(OUTCOMES)}")
        if rolled_back_to is not None and outcome not in (None, "rolled_back"):
            raise BadInput("--rolled-back-to goes with --outcome rolled_back")

    # -- writes ----------------------------------------------------------------------------
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
        rolled_back_to: str | None = None,
        hotfix_of: str | int | None = None,
    ) -> DeploymentRecord:
        """Record a deploy. A rollback is recorded on the version that went bad: when that
        version is the service's latest recorded deploy, it is marked rolled back (one deploy,
        not two); naming an older version (the one rolled back *to*) is refused."""
        deploy, _ = self._record(
            service, version, kind, outcome, incident=incident, at=at, notes=notes,
            rolled_back_to=rolled_back_to, hotfix_of=hotfix_of, once=False,
        )  # fmt: skip
        return deploy

    def record_once(
        self,
        service: str,
        version: str,
        kind: str,
        outcome: str,
        *,
        at: datetime,
        notes: str | None = None,
    ) -> tuple[DeploymentRecord, bool]:
        """record(), unless a deploy of exactly this service, version, kind and time is there:
        then that one (the first), and False. The check and the insert are one transaction
        holding a lock on that key, so simultaneous deliveries of one change (a POST /changes
        retried while the first was still being written) record it once."""
        return self._record(service, version, kind, outcome, at=at, notes=notes, once=True)

    def _record(
        self,
        service: str,
        version: str,
        kind: str,
        outcome: str,
        *,
        incident: str | None = None,
        at: datetime | None = None,
        notes: str | None = None,
        rolled_back_to: str | None = None,
        hotfix_of: str | int | None = None,
        once: bool,
    ) -> tuple[DeploymentRecord, bool]:
        if kind not in KINDS:
            raise BadInput(f"unknown deploy kind '{kind}'; expected one of {', '.join(KINDS)}")
        self._check_outcome(outcome, rolled_back_to)
        if not service.strip() or not version.strip():
            raise BadInput("a deploy needs a service and a version")
        when = self._when(at)
        r = self.redactor  # a token pasted into --notes (or anywhere) is never stored
        service, version = r.text(service.strip()), r.text(version.strip())
        with self.store.write() as conn:
            if once:
                lock_key(conn, "deploy", service, version, kind, ts_text(when))
                found = self._find(conn, service, version, kind, when)
                if found is not None:
                    return found, False
            incident_id = self._incident(conn, incident)
            if outcome == "rolled_back":
                latest = self._latest(conn, service, when)
                if latest is not None and latest["version"] == version:
                    marked = self._mark(
                        conn, latest, "rolled_back", incident_id, rolled_back_to, notes, when
                    )
                    return marked, True  # recorded now, on the deploy that went bad
                if latest is not None and self._recorded(conn, service, version, when):
                    raise IncidentError(
                        f"{version} is not the latest deploy of {service} ({latest['version']}, "
                        f"deploy {latest['id']}, is); a rollback is recorded on the version "
                        f"rolled back: deploy update {latest['id']} --outcome rolled_back "
                        f"--rolled-back-to {version}"
                    )
            values = {
                "service": service,
                "version": version,
                "kind": kind,
                "outcome": outcome,
                "at": when,
                "incident_id": incident_id,
                "actor": self.actor,
                "notes": r.text(notes) if notes else notes,
                "rolled_back_to": r.text(rolled_back_to.strip()) if rolled_back_to else None,
                "outcome_at": None,
                "hotfix_of": self._hotfix_target(conn, hotfix_of, service, when),
                "updated_at": None,
            }
            new_id = conn.execute(insert(DEP).values(**values)).inserted_primary_key[0]
            live.notify_deploy(conn, new_id)  # screens showing deploys re-read (no event tells)
        return DeploymentRecord.model_validate({"id": new_id, **values}), True

    def update(
        self,
        ref: str | int,
        *,
        outcome: str | None = None,
        incident: str | None = None,
        rolled_back_to: str | None = None,
        hotfix_of: str | int | None = None,
        notes: str | None = None,
        at: datetime | None = None,
    ) -> DeploymentRecord:
        """Mark a deploy after the fact: its outcome (``at`` is when it failed or was rolled
        back), the incident it caused, the version it was rolled back to, the deploy it fixed."""
        self._check_outcome(outcome, rolled_back_to)
        if all(v is None for v in (outcome, incident, rolled_back_to, hotfix_of, notes)):
            raise BadInput(
                "nothing to update; give --outcome, --incident, --rolled-back-to, "
                "--hotfix-for or --notes"
            )
        when = self._when(at)
        with self.store.write() as conn:
            row = self._row(conn, ref)
            if at is not None and when < row["at"]:
                raise IncidentError(
                    f"{when:%Y-%m-%dT%H:%M:%SZ} is before deploy {row['id']} "
                    f"({row['at']:%Y-%m-%dT%H:%M:%SZ})"
                )
            if rolled_back_to is not None and outcome is None and row["outcome"] != "rolled_back":
                raise BadInput("--rolled-back-to goes with --outcome rolled_back")
            fix = self._hotfix_target(conn, hotfix_of, row["service"], row["at"])
            return self._mark(
                conn,
                row,
                outcome,
                self._incident(conn, incident),
                rolled_back_to,
                notes,
                when,
                hotfix_of=fix,
            )

    def _mark(
        self, conn, row, outcome, incident_id, rolled_back_to, notes, when, hotfix_of=None
    ) -> DeploymentRecord:
        r = self.redactor
        values: dict[str, Any] = {"updated_at": self.clock.now().astimezone(UTC)}
        if outcome is not None and outcome != row["outcome"]:
            values["outcome"] = outcome
            values["outcome_at"] = when if outcome in FAILED else None
        if outcome == "succeeded":
            values["rolled_back_to"] = None
        if incident_id is not None:
            values["incident_id"] = incident_id
        if rolled_back_to is not None:
            values["rolled_back_to"] = r.text(rolled_back_to.strip())
        if hotfix_of is not None:
            values["hotfix_of"] = hotfix_of
        if notes:
            values["notes"] = r.text(notes)
        conn.execute(update(DEP).where(DEP.c.id == row["id"]).values(**values))
        live.notify_deploy(conn, row["id"])
        return DeploymentRecord.model_validate(row | values)

    def _latest(self, conn: Connection, service: str, when: datetime) -> dict[str, Any] | None:
        row = (
            conn.execute(
                select(DEP)
                .where(DEP.c.service == service, DEP.c.at <= when)
                .order_by(DEP.c.at.desc(), DEP.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def _recorded(self, conn: Connection, service: str, version: str, when: datetime) -> bool:
        q = select(DEP.c.id).where(
            DEP.c.service == service, DEP.c.version == version, DEP.c.at <= when
        )
        return conn.execute(q.limit(1)).first() is not None

    def _find(
        self, conn: Connection, service: str, version: str, kind: str, when: datetime
    ) -> DeploymentRecord | None:
        """The deploy recorded with exactly this service, version, kind and time (the first
        one; the service and version as record() stored them), or None."""
        q = (
            select(DEP)
            .where(
                DEP.c.service == service,
                DEP.c.version == version,
                DEP.c.kind == kind,
                DEP.c.at == when,
            )
            .order_by(DEP.c.id)
            .limit(1)
        )
        row = conn.execute(q).mappings().first()
        return DeploymentRecord.model_validate(dict(row)) if row else None

    # -- reads -----------------------------------------------------------------------------
    def get(self, ref: str | int) -> DeploymentRecord:
        with self.store.read() as conn:
            return DeploymentRecord.model_validate(self._row(conn, ref))

    def list(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[DeploymentRecord]:
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
            return [DeploymentRecord.model_validate(r) for r in conn.execute(q).mappings()]

    def around(
        self, incident_id: int, service: str | None, since: datetime, until: datetime
    ) -> list[DeploymentRecord]:
        """The deploys linked to an incident, and those of its service in [since, until],
        oldest first (what its postmortem lists)."""
        cond = DEP.c.incident_id == incident_id
        if service:
            cond = or_(cond, (DEP.c.service == service) & (DEP.c.at >= since) & (DEP.c.at <= until))
        q = select(DEP).where(cond).order_by(DEP.c.at, DEP.c.id)
        with self.store.read() as conn:
            return [DeploymentRecord.model_validate(r) for r in conn.execute(q).mappings()]

    def dora(self, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        """Deploy count, change failure rate and failed-deployment recovery time in a window."""
        in_window = self.list(since=since, until=until)
        recoveries = []
        with self.store.read() as conn:
            fixed = set(
                conn.execute(select(DEP.c.hotfix_of).where(DEP.c.hotfix_of.is_not(None))).scalars()
            )
            failures = [d for d in in_window if _needed_intervention(d, fixed)]
            for d in failures:
                end = self._restored(conn, d)
                if end is not None:
                    how, when = end
                    recoveries.append(
                        {
                            "deploy": d.id,
                            "service": d.service,
                            "seconds": (when - d.at).total_seconds(),
                            "restored_by": how,
                        }
                    )
        recoveries.sort(key=lambda r: (r["seconds"], r["deploy"]))
        n = len(in_window)
        return {
            "since": since,
            "until": until,
            "deploys": n,
            "failed": sum(d.outcome == "failed" for d in in_window),
            "rolled_back": sum(d.outcome == "rolled_back" for d in in_window),
            "linked_to_incident": sum(d.incident_id is not None for d in in_window),
            "hotfixed": sum(d.id in fixed for d in in_window),
            "change_failures": len(failures),
            "change_failure_rate": (len(failures) / n) if n else None,
            "recovery": summarise([r["seconds"] for r in recoveries]) | {"items": recoveries},
        }

    def _restored(self, conn: Connection, d: DeploymentRecord) -> tuple[str, datetime] | None:
        """When the service was restored after a failed deploy, and by what; None if not yet."""
        if d.incident_id:
            mitigated = conn.execute(
                select(INC.c.mitigated_at).where(INC.c.id == d.incident_id)
            ).scalar()
            # the incident is the record of the outage: until it is mitigated, nothing else is
            # a restoration (a later deploy may not have fixed it)
            return ("incident_mitigated", mitigated) if mitigated and mitigated >= d.at else None
        if d.outcome == "rolled_back" and d.outcome_at is not None:
            return "rolled_back", d.outcome_at
        nxt = conn.execute(
            select(DEP.c.at)
            .where(DEP.c.service == d.service, DEP.c.outcome == "succeeded", DEP.c.at > d.at)
            .order_by(DEP.c.at)
            .limit(1)
        ).scalar()
        return ("next_deploy", nxt) if nxt is not None else None


def _needed_intervention(d: DeploymentRecord, hotfixed: set[int]) -> bool:
    return d.outcome in FAILED or d.incident_id is not None or d.id in hotfixed
