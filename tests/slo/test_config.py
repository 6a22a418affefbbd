"""slos.yaml: defaults, the Workbook policy, located errors, and its JSON Schema."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from mlops_oncall.formats.jsonschema import schema_for
from mlops_oncall.slo.config import DEFAULT_POLICY, load_slos


def _load(tmp_path, text, **kw):
    path = tmp_path / "slos.yaml"
    path.write_text(text)
    slos, problems = load_slos(path, "slos.yaml", **kw)
    return slos, [str(p) for p in problems]


def test_defaults_are_30d_and_the_workbook_table(tmp_path):
    slos, problems = _load(
        tmp_path, "slos:\n  - {id: predict, checks: [fraud.ready], objective: '99.9%'}\n"
    )
    assert problems == []
    slo = slos.slos["predict"]
    assert (slo.objective, slo.window, slo.budget) == (Decimal("99.9"), timedelta(days=30), 0.001)
    assert slo.policy == DEFAULT_POLICY and slo.min_bad_events == 3
    assert [(r.long, r.short, r.burn_rate, r.severity) for r in slo.policy] == [
        (timedelta(hours=1), timedelta(minutes=5), 14.4, "page"),
        (timedelta(hours=6), timedelta(minutes=30), 6, "page"),
        (timedelta(days=1), timedelta(hours=2), 3, "ticket"),
        (timedelta(days=3), timedelta(hours=6), 1, "ticket"),
    ]


def test_an_edited_policy(tmp_path):
    slos, problems = _load(
        tmp_path,
        "slos:\n"
        "  - id: p\n    checks: [a, b]\n    objective: 99.5\n    window: 28d\n"
        "    count_degraded: true\n    min_bad_events: 5\n"
        "    policy:\n      - {long: 2h, short: 10m, burn_rate: 10, severity: page}\n",
    )
    slo = slos.slos["p"]
    assert problems == [] and slo.budget == 0.005 and slo.count_degraded
    assert [(r.long, r.burn_rate) for r in slo.policy] == [(timedelta(hours=2), 10)]


def test_errors_are_located(tmp_path):
    slos, problems = _load(
        tmp_path,
        "slos:\n"
        "  - id: a\n    checks: [x]\n    objective: 99.9\n"
        "  - id: a\n    checks: [y]\n    objective: 99.9\n"
        "    policy:\n      - {long: 4d, short: 1h, burn_rate: 1, severity: ticket}\n"
        "      - {long: 90s, short: 30s, burn_rate: 1, severity: ticket}\n",
    )
    assert slos is None
    assert problems == [
        "slos.yaml:9:9: slos[1].policy[0]: long is at most 3d: the per-minute roll-ups the "
        "windows are computed from are kept that long",
        "slos.yaml:10:9: slos[1].policy[1]: long must be a whole number of minutes, such as '5m'",
    ]
    slos, problems = _load(
        tmp_path,
        "slos:\n"
        "  - {id: a, checks: [x], objective: 99.9}\n"
        "  - {id: a, checks: [nope], objective: 100}\n",
    )
    assert problems == [
        "slos.yaml:3:40: slos[1].objective: expected a percentage above 0 and below 100, "
        "such as 99.5, got 100",
    ]


def test_duplicates_are_errors_and_unknown_checks_warnings(tmp_path):
    slos, problems = _load(
        tmp_path,
        "slos:\n  - {id: a, checks: [x], objective: 99.9}\n"
        "  - {id: a, checks: [nope], objective: 99}\n",
        known_checks={"x"},
    )
    assert slos is None
    assert problems == [
        "slos.yaml:3:10: slos[1].id: duplicate SLO id 'a'",
        "slos.yaml:3:22: warning: slos[1].checks[0]: no check 'nope' in the checks file; "
        "it has no polls",
    ]


def test_the_json_schema_is_published():
    schema = schema_for("slos")
    assert schema["title"] == "mlops-oncall SLOs (slos.yaml)"
    entry = schema["$defs"]["SloEntry"]
    assert entry["required"] == ["id", "objective"]  # and checks or prometheus
    pair = schema["$defs"]["PrometheusPair"]
    assert pair["required"] == ["url", "total"]
    assert entry["properties"]["window"]["enum"] == ["28d", "30d"]
