"""The risk register's statements live in reports/risk_records.py and return typed records."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.reports import risks as risks_module
from mlops_oncall.reports.risk_records import RiskRecords
from mlops_oncall.reports.risks import Risks
from mlops_oncall.store.db import open_store
from mlops_oncall.store.models import Risk, RiskLink, RiskReview

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_the_register_reads_back_as_records(backend_url):
    store = open_store(backend_url)
    clock = FixedClock(T0)
    inc = Incidents(store, clock=clock, actor="alice").declare("feed late", "SEV3").id
    risks = Risks(store, clock=clock, actor="alice")
    risks.add("stale features", 4, 5, "ml-platform", incidents=[inc], runbooks=[" rb-1 ", ""])
    clock.advance(timedelta(days=1))
    risks.review("R-001", 2, 3, note="cache added")
    risks.add("vendor quota", 2, 2, "bob")
    with RiskRecords(store).read() as tx:
        ranked = tx.ranked()
        reviews = tx.reviews(1)
        links = tx.links(1)
        assert tx.risk_ids_linked_to(1) == [1]
        assert tx.last_review_at(1) == T0 + timedelta(days=1)
        assert tx.risk(99) is None
    assert all(isinstance(r, Risk) for r in ranked)
    # the residual 2x3 = 6 still outranks the other's 2x2 = 4
    assert [(r.id, r.residual_likelihood, r.last_reviewed) for r in ranked] == [
        (1, 2, date(2026, 12, 7)),
        (2, None, None),
    ]
    assert [(type(r), r.kind, r.likelihood, r.note) for r in reviews] == [
        (RiskReview, "identified", 4, None),
        (RiskReview, "review", 2, "cache added"),
    ]
    # runbook ids are stripped and blanks dropped before they are linked
    assert [(type(k), k.incident_id, k.runbook_id) for k in links] == [
        (RiskLink, 1, None),
        (RiskLink, None, "rb-1"),
    ]
    store.close()


def test_the_register_service_writes_no_sql():
    source = Path(risks_module.__file__).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {m for m in imported if m.startswith("sqlalchemy")}
    assert "mlops_oncall.store.tables" not in imported
