"""The risk register (docs/reports.md): risks, their score history and their links.

Score = likelihood × impact (each 1-5), in bands 1-4 low, 5-9 medium, 10-15 high, 16-25
critical (ISO 31000 / the UK Orange Book's inherent and residual risk). The inherent score is
the risk before its controls, given when the risk is added; the residual score is the risk with
the controls in place, and a review re-assesses it (the inherent score stays). Both are in the
history, so "the change since the last review" is always known, and the register ranks by the
current score (the residual once assessed). A tolerated risk is accepted by a named approver
until an expiry date. Every text is redacted before it is stored, like the incident narrative.

The statements are in ``reports/risk_records.py``; this module decides and builds the JSON view
(``risk --json``) from the records it returns.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.errors import BadInput, IncidentError
from mlops_oncall.formats.refs import parse_ref
from mlops_oncall.formats.refs import public_id as incident_id_text
from mlops_oncall.formats.validate import did_you_mean
from mlops_oncall.redact import DEFAULT, Redactor
from mlops_oncall.reports.risk_records import RiskRecords, RiskTx
from mlops_oncall.store.db import Store
from mlops_oncall.store.models import Risk, RiskReview

ML_CATEGORIES = (
    "data-dependency",
    "model-quality",
    "feedback-loop",
    "vendor-api",
    "cost",
    "compliance",
)
CATEGORIES = (*ML_CATEGORIES, "availability", "capacity", "security", "people", "process", "other")
TREATMENTS = ("treat", "tolerate", "transfer", "terminate")
STATUSES = ("open", "monitoring", "closed")  # monitoring: treated, watching the trigger
BANDS = ((4, "low"), (9, "medium"), (15, "high"), (25, "critical"))
# how soon the next review falls due after a review, by band: the worse, the sooner
REVIEW_EVERY = {"critical": 7, "high": 14, "medium": 30, "low": 90}
TEXT_FIELDS = ("title", "description", "mitigation", "contingency", "early_warning", "owner")


class RiskError(IncidentError):
    """The answer is no: an unknown risk, a closed risk reviewed. Exit 1."""


class RiskInput(BadInput):
    """A value that cannot mean anything: a score out of 1-5, an unknown category. Exit 2."""


def band(score: int) -> str:
    for top, name in BANDS:
        if score <= top:
            return name
    return "critical"


def public_id(risk_id: int) -> str:
    return f"R-{risk_id:03d}"


_REF = re.compile(r"^(?:r-?)?0*(\d+)$", re.IGNORECASE)


MAX_ID = 2**63 - 1  # SQLite's largest integer: no risk has a larger id


def parse_risk_ref(ref: str | int) -> int:
    """`R-001`, `r1`, `1` -> 1; an id no risk can have is an unknown risk (exit 1), not a
    database overflow."""
    if isinstance(ref, int):
        number = ref
    else:
        m = _REF.match(ref.strip())
        number = int(m.group(1)) if m and len(m.group(1)) <= 19 else 0
    if not 0 < number <= MAX_ID:
        raise RiskError(f"unknown risk '{ref}' (ids look like R-001)")
    return number


def _level(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise RiskInput(f"{name} must be a whole number from 1 to 5, not {value!r}")
    return value


def _choice(name: str, value: str, options: tuple[str, ...]) -> str:
    v = re.sub(r"[\s_/]+", "-", value.strip().lower())  # "vendor/API", "data dependency"
    if v not in options:
        raise RiskInput(
            f"unknown {name} '{value}'{did_you_mean(v, options)}; "
            f"expected one of {', '.join(options)}"
        )
    return v


def _scored(likelihood: int, impact: int) -> dict[str, Any]:
    score = likelihood * impact
    return {"likelihood": likelihood, "impact": impact, "score": score, "band": band(score)}


class Risks:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM,
        actor: str = "unknown",
        redactor: Redactor | None = None,
    ):
        self.store = store
        self.records = RiskRecords(store)
        self.clock = clock
        self.actor = actor
        self.redactor = redactor or DEFAULT  # shapes only: a service built without a Session

    # -- helpers ---------------------------------------------------------------------------
    def today(self) -> date:
        return self.clock.now().astimezone(UTC).date()

    def _when(self, at: datetime | None) -> datetime:
        now = self.clock.now()
        if at is None:
            return now
        if at.tzinfo is None:
            raise RiskInput("times must be timezone-aware")
        if at > now + timedelta(seconds=5):
            raise RiskError(f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} is in the future")
        return at.astimezone(UTC)

    def _text(self, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return self.redactor.text(value) if value else None

    def _row(self, tx: RiskTx, ref: str | int) -> Risk:
        row = tx.risk(parse_risk_ref(ref))
        if row is None:
            raise RiskError(f"unknown risk '{ref}'")
        return row

    def _incident_ids(self, tx: RiskTx, refs) -> list[int]:
        out = []
        for ref in refs or ():
            iid = parse_ref(ref)
            if not tx.incident_exists(iid):
                raise IncidentError(f"unknown incident '{ref}'")
            if iid not in out:
                out.append(iid)
        return out

    def _link(self, tx: RiskTx, rid: int, incidents: list[int], runbooks, when: datetime) -> None:
        tx.link(rid, incidents, [rb.strip() for rb in runbooks or () if rb.strip()], when)

    def _acceptance(self, treatment: str, approver, expires, row) -> dict[str, Any]:
        """A tolerated risk is accepted by someone, until a date (then it is looked at again)."""
        approver = self._text(approver) if approver is not None else None
        if row is not None:  # an update keeps what it does not change
            approver = approver or row.approver
            expires = expires or row.accepted_until
        if treatment != "tolerate":
            if approver or expires:
                raise RiskInput(
                    "--approver and --expires record who accepted a tolerated risk; "
                    f"the treatment is {treatment}, not tolerate"
                )
            return {}
        if not approver or expires is None:
            raise RiskInput(
                "tolerating a risk needs --approver (who accepts it) and --expires (the date "
                "the acceptance ends)"
            )
        if expires <= self.today():
            raise RiskInput(f"the acceptance would expire on {expires}, which is not after today")
        return {"approver": approver, "accepted_until": expires}

    def _review_due(self, reviewed: date, score: int) -> date:
        return reviewed + timedelta(days=REVIEW_EVERY[band(score)])

    # -- writes ----------------------------------------------------------------------------
    def add(
        self,
        title: str,
        likelihood: int,
        impact: int,
        owner: str,
        *,
        category: str = "other",
        description: str | None = None,
        treatment: str = "treat",
        mitigation: str | None = None,
        contingency: str | None = None,
        early_warning: str | None = None,
        status: str = "open",
        next_review: date | None = None,
        residual: tuple[int, int] | None = None,
        approver: str | None = None,
        expires: date | None = None,
        incidents: list[str] | tuple[str, ...] = (),
        runbooks: list[str] | tuple[str, ...] = (),
        at: datetime | None = None,
    ) -> dict[str, Any]:
        title_text = self._text(title)
        if not title_text:
            raise RiskInput("a risk needs a title")
        owner_text = self._text(owner)
        if not owner_text:
            raise RiskInput("a risk needs an owner")
        likelihood, impact = _level("likelihood", likelihood), _level("impact", impact)
        values = {
            "title": title_text,
            "description": self._text(description),
            "category": _choice("category", category, CATEGORIES),
            "likelihood": likelihood,
            "impact": impact,
            "owner": owner_text,
            "treatment": _choice("treatment", treatment, TREATMENTS),
            "mitigation": self._text(mitigation),
            "contingency": self._text(contingency),
            "early_warning": self._text(early_warning),
            "status": _choice("status", status, STATUSES),
        }
        values |= self._acceptance(values["treatment"], approver, expires, None)
        if residual is not None:
            values["residual_likelihood"] = _level("residual likelihood", residual[0])
            values["residual_impact"] = _level("residual impact", residual[1])
        when = self._when(at)
        identified = when.date()
        values |= {
            "identified_on": identified,
            "next_review": next_review or self._review_due(identified, likelihood * impact),
            "last_reviewed": None,
            "created_at": when,
            "updated_at": when,
        }
        with self.records.write() as tx:
            linked = self._incident_ids(tx, incidents)
            rid = tx.insert_risk(values)
            tx.insert_review(
                RiskReview(
                    risk_id=rid,
                    kind="identified",
                    at=when,
                    likelihood=likelihood,
                    impact=impact,
                    note=None,
                    actor=self.actor,
                )
            )
            self._link(tx, rid, linked, runbooks, when)
            return self._json(tx, self._row(tx, rid), history=True)

    def update(
        self,
        ref: str | int,
        *,
        incidents: list[str] | tuple[str, ...] = (),
        runbooks: list[str] | tuple[str, ...] = (),
        residual: tuple[int, int] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Change descriptive fields, status, next review, residual score or add links.

        The inherent likelihood and impact are not here: they are the risk as identified.
        """
        allowed = {*TEXT_FIELDS, "category", "treatment", "status", "next_review"}
        approver, expires = fields.pop("approver", None), fields.pop("expires", None)
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise RiskInput(f"cannot update {', '.join(unknown)}; a score changes by a review")
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if value is None:
                continue
            if name in ("category", "treatment", "status"):
                options = {"category": CATEGORIES, "treatment": TREATMENTS, "status": STATUSES}
                values[name] = _choice(name, value, options[name])
            elif name == "next_review":
                values[name] = value
            else:
                text = self._text(value)
                if name in ("title", "owner") and not text:
                    raise RiskInput(f"a risk's {name} cannot be empty")
                values[name] = text
        if residual is not None:
            values["residual_likelihood"] = _level("residual likelihood", residual[0])
            values["residual_impact"] = _level("residual impact", residual[1])
        if not values and not incidents and not runbooks and approver is None and expires is None:
            raise RiskInput("nothing to update")
        now = self.clock.now()
        with self.records.write() as tx:
            row = self._row(tx, ref)
            treatment = values.get("treatment", row.treatment)
            if treatment == "tolerate" or approver is not None or expires is not None:
                values |= self._acceptance(treatment, approver, expires, row)
            linked = self._incident_ids(tx, incidents)
            tx.update_risk(row.id, values | {"updated_at": now})
            self._link(tx, row.id, linked, runbooks, now)
            return self._json(tx, self._row(tx, row.id), history=True)

    def review(
        self,
        ref: str | int,
        likelihood: int,
        impact: int,
        *,
        note: str | None = None,
        next_review: date | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        likelihood, impact = _level("likelihood", likelihood), _level("impact", impact)
        when = self._when(at)
        with self.records.write() as tx:
            row = self._row(tx, ref)
            rid = public_id(row.id)
            if row.status == "closed":
                raise RiskError(
                    f"{rid} is closed; reopen it first with `risk update {rid} --status open`"
                )
            last = tx.last_review_at(row.id)
            if last is not None and when < last:
                # the history is ordered by time; an earlier review would not be the current one
                raise RiskError(
                    f"{rid} was last scored at {last:%Y-%m-%dT%H:%M:%SZ}; "
                    "a review cannot be earlier"
                )
            tx.insert_review(
                RiskReview(
                    risk_id=row.id,
                    kind="review",
                    at=when,
                    likelihood=likelihood,
                    impact=impact,
                    note=self._text(note),
                    actor=self.actor,
                )
            )
            reviewed = when.date()
            # a review re-assesses the residual risk; the inherent one stays
            tx.update_risk(
                row.id,
                {
                    "residual_likelihood": likelihood,
                    "residual_impact": impact,
                    "last_reviewed": reviewed,
                    "next_review": next_review or self._review_due(reviewed, likelihood * impact),
                    "updated_at": self.clock.now(),
                },
            )
            return self._json(tx, self._row(tx, row.id), history=True)

    # -- reads -----------------------------------------------------------------------------
    def get(self, ref: str | int) -> dict[str, Any]:
        with self.records.read() as tx:
            return self._json(tx, self._row(tx, ref), history=True)

    def list(
        self,
        *,
        status: str | None = None,
        category: str | None = None,
        include_closed: bool = True,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Risks by score, highest first (ties: the oldest first)."""
        status = _choice("status", status, STATUSES) if status else None
        category = _choice("category", category, CATEGORIES) if category else None
        with self.records.read() as tx:
            rows = tx.ranked(
                status=status, category=category, include_closed=include_closed, limit=limit
            )
            return [self._json(tx, r) for r in rows]

    def linked_to(self, incident_ref: str | int) -> list[dict[str, Any]]:
        iid = parse_ref(incident_ref)
        with self.records.read() as tx:
            return [self._json(tx, self._row(tx, rid)) for rid in tx.risk_ids_linked_to(iid)]

    def _json(self, tx: RiskTx, risk: Risk, *, history: bool = False) -> dict:
        """The JSON view (`risk --json`): the record's fields in this order, with the scores,
        bands, links and (for one risk) the history worked out."""
        row = risk.model_dump()
        rid = row["id"]
        reviews = tx.reviews(rid)
        links = tx.links(rid)
        previous = None
        if len(reviews) >= 2 and reviews[-1].kind == "review":
            before = reviews[-2]  # the inherent score before the first review
            previous = before.likelihood * before.impact
        inherent = _scored(row["likelihood"], row["impact"])
        residual = None
        if row["residual_likelihood"] is not None and row["residual_impact"] is not None:
            residual = _scored(row["residual_likelihood"], row["residual_impact"])
        current = residual or inherent
        tolerated = row["treatment"] == "tolerate"
        expires = row["accepted_until"] if tolerated else None
        out = {
            "id": public_id(rid),
            "title": row["title"],
            "description": row["description"],
            "category": row["category"],
            **inherent,
            "inherent": inherent,
            "current": current,
            "owner": row["owner"],
            "treatment": row["treatment"],
            "approver": row["approver"] if tolerated else None,
            "expires": expires,
            "acceptance_expired": bool(
                expires is not None and row["status"] != "closed" and expires <= self.today()
            ),
            "mitigation": row["mitigation"],
            "contingency": row["contingency"],
            "early_warning": row["early_warning"],
            "status": row["status"],
            "identified_on": row["identified_on"],
            "next_review": row["next_review"],
            "last_reviewed": row["last_reviewed"],
            "overdue": bool(
                row["status"] != "closed"
                and row["next_review"] is not None
                and row["next_review"] < self.today()
            ),
            "residual": residual,
            "previous_score": previous,
            "change": None if previous is None else current["score"] - previous,
            "links": {
                "incidents": [
                    incident_id_text(k.incident_id) for k in links if k.incident_id is not None
                ],
                "runbooks": [k.runbook_id for k in links if k.runbook_id is not None],
            },
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
        if history:
            out["history"] = [
                {
                    "kind": r.kind,
                    "score_kind": "inherent" if r.kind == "identified" else "residual",
                    "at": r.at,
                    **_scored(r.likelihood, r.impact),
                    "note": r.note,
                    "actor": r.actor,
                }
                for r in reviews
            ]
        return out
