"""The checklist format: the shipped checklist, located errors, the JSON Schema."""

from __future__ import annotations

import pytest

from mlops_oncall.formats.problems import ProblemsError
from mlops_oncall.readiness.loader import load_answers, load_checklist
from mlops_oncall.readiness.schema import CATEGORIES

BAD = """\
kind: readiness
id: bad
title: Bad
owner: tests
last_validated: 2026-11-30
items:
  - id: one
    title: One
    category: monitorin
    weight: 3
    evidence: {check: x}
  - id: two
    title: Two
    category: cost
    weight: 11
    evidence: {check: x, ask: both?}
  - id: one
    title: Again
    category: cost
    weight: 1
    evidence: {asks: typo}
"""


def test_the_shipped_checklist():
    c = load_checklist()
    assert (c.kind, c.id) == ("readiness", "ml-service")
    assert len(c.items) == 27
    assert sum(i.weight for i in c.items) == 128
    assert {i.category for i in c.items} == set(CATEGORIES)
    kinds = {i.evidence.kind for i in c.items}
    assert kinds == {"check", "runbook", "slo", "command", "ask"}


def test_every_problem_is_located(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(ProblemsError) as exc:
        load_checklist(path, display="bad.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "bad.yaml:9:15: items[0].category: expected one of monitoring, data quality, rollback, "
        "on-call, cost, security, documentation; got 'monitorin' (did you mean 'monitoring'?)",
        "bad.yaml:15:13: items[1].weight: expected a value <= 10, got 11",
        "bad.yaml:16:15: items[1].evidence: expected exactly one of check, runbook, slo, "
        "command, ask; got check, ask",
        "bad.yaml:17:9: items[2].id: duplicate item id 'one' (first used by items[0])",
        "bad.yaml:21:16: items[2].evidence.asks: unknown field 'asks' (did you mean 'ask'?)",
    ]


def test_answers_file_errors_are_located(tmp_path):
    checklist = load_checklist()
    path = tmp_path / "a.yaml"
    path.write_text("pii-handling: maybe\nmodel-crad: yes\ncost-alerts: {answer: no, why: x}\n")
    with pytest.raises(ProblemsError) as exc:
        load_answers(path, checklist)
    assert [str(p) for p in exc.value.problems] == [
        f"{path}:1:15: pii-handling: expected one of yes, no, partial; got 'maybe'",
        f"{path}:2:1: model-crad: unknown item 'model-crad' (did you mean 'model-card'?)",
        f"{path}:3:27: cost-alerts.why: unknown field 'why'",
    ]


def test_yaml_booleans_and_notes_are_answers(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(
        "pii-handling: yes\nmodel-card: {answer: partial, note: draft}\ncost-alerts: no\n"
    )
    got = load_answers(path, load_checklist()).by_item
    assert {k: (a.answer, a.note) for k, a in got.items()} == {
        "pii-handling": ("yes", ""),
        "model-card": ("partial", "draft"),
        "cost-alerts": ("no", ""),
    }


def test_schema_command(cli):
    r = cli("schema", "readiness")
    assert r.code == 0
    schema = r.json()
    assert schema["title"] == "mlops-oncall readiness checklist"
    assert schema["properties"]["kind"]["const"] == "readiness"
