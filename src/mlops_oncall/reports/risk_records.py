"""The risk register's records: every statement on risk, risk_review and risk_link.

``reports/risks.py`` decides (scores, bands, acceptance, review dates) and builds the JSON view;
this module only reads and writes rows, and returns them as the SQLModel records ``Risk``,
``RiskReview`` and ``RiskLink``. A ``RiskTx`` is one transaction, so a check and the write it
guards (a review no earlier than the last one) cannot interleave with another writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from mlops_oncall.store.db import Store
from mlops_oncall.store.models import Risk, RiskLink, RiskReview
from mlops_oncall.store.tables import Incident as INC
from mlops_oncall.store.tables import Risk as RISK
from mlops_oncall.store.tables import RiskLink as LINK
from mlops_oncall.store.tables import RiskReview as REVIEW


def _current_score():
    """The score a risk ranks by: the residual once assessed, else the inherent."""
    return func.coalesce(
        RISK.c.residual_likelihood * RISK.c.residual_impact, RISK.c.likelihood * RISK.c.impact
    )


def _aware(value: datetime | str) -> datetime:
    # max() over the timestamp column comes back as the stored text on SQLite
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class RiskTx:
    """The register's statements inside one open transaction."""

    def __init__(self, conn: Connection):
        self.conn = conn

    # -- reads -----------------------------------------------------------------------------
    def risk(self, rid: int) -> Risk | None:
        row = self.conn.execute(select(RISK).where(RISK.c.id == rid)).mappings().first()
        return None if row is None else Risk.model_validate(row)

    def ranked(
        self,
        *,
        status: str | None = None,
        category: str | None = None,
        include_closed: bool = True,
        limit: int | None = None,
    ) -> list[Risk]:
        """Risks by current score, highest first (ties: the oldest first)."""
        q = select(RISK).order_by(_current_score().desc(), RISK.c.id)
        if status:
            q = q.where(RISK.c.status == status)
        elif not include_closed:
            q = q.where(RISK.c.status != "closed")
        if category:
            q = q.where(RISK.c.category == category)
        if limit:
            q = q.limit(limit)
        return [Risk.model_validate(r) for r in self.conn.execute(q).mappings()]

    def reviews(self, rid: int) -> list[RiskReview]:
        """The score history, oldest first."""
        q = select(REVIEW).where(REVIEW.c.risk_id == rid).order_by(REVIEW.c.at, REVIEW.c.id)
        return [RiskReview.model_validate(r) for r in self.conn.execute(q).mappings()]

    def last_review_at(self, rid: int) -> datetime | None:
        last = self.conn.execute(
            select(func.max(REVIEW.c.at)).where(REVIEW.c.risk_id == rid)
        ).scalar()
        return None if last is None else _aware(last)

    def links(self, rid: int) -> list[RiskLink]:
        q = select(LINK).where(LINK.c.risk_id == rid).order_by(LINK.c.id)
        return [RiskLink.model_validate(r) for r in self.conn.execute(q).mappings()]

    def risk_ids_linked_to(self, incident_id: int) -> list[int]:
        q = select(LINK.c.risk_id).where(LINK.c.incident_id == incident_id).distinct()
        return sorted(self.conn.execute(q).scalars())

    def incident_exists(self, incident_id: int) -> bool:
        q = select(INC.c.id).where(INC.c.id == incident_id)
        return self.conn.execute(q).first() is not None

    # -- writes ----------------------------------------------------------------------------
    def insert_risk(self, values: dict[str, Any]) -> int:
        return self.conn.execute(insert(RISK).values(**values)).inserted_primary_key[0]

    def update_risk(self, rid: int, values: dict[str, Any]) -> None:
        self.conn.execute(update(RISK).where(RISK.c.id == rid).values(**values))

    def insert_review(self, review: RiskReview) -> None:
        self.conn.execute(insert(REVIEW).values(**review.model_dump(exclude={"id"})))

    def link(self, rid: int, incidents: list[int], runbooks: list[str], when: datetime) -> None:
        """Add the links the risk does not have yet."""
        have = {(k.incident_id, k.runbook_id) for k in self.links(rid)}
        for iid in incidents:
            if (iid, None) not in have:
                self.conn.execute(
                    insert(LINK).values(risk_id=rid, incident_id=iid, created_at=when)
                )
        for rb in runbooks:
            if (None, rb) not in have:
                self.conn.execute(insert(LINK).values(risk_id=rid, runbook_id=rb, created_at=when))


class RiskRecords:
    def __init__(self, store: Store):
        self.store = store

    @contextmanager
    def write(self) -> Iterator[RiskTx]:
        with self.store.write() as conn:
            yield RiskTx(conn)

    @contextmanager
    def read(self) -> Iterator[RiskTx]:
        with self.store.read() as conn:
            yield RiskTx(conn)
