"""Routing an alert group (alerts: in oncall.yaml): matchers in Alertmanager's syntax with
fully anchored regexes, first route wins, severity from labels.severity through the map, the
service label, runbook, declare; and the located errors of a bad `alerts:` section."""

from __future__ import annotations

import pytest

from mlops_oncall.alerts.routing import Router
from mlops_oncall.config import AlertsConfig
from mlops_oncall.formats.matchers import parse_matcher


@pytest.mark.parametrize(
    ("text", "labels", "hit"),
    [
        ('service="fraud"', {"service": "fraud"}, True),
        ('service="fraud"', {"service": "fraud-api"}, False),
        ('service!="fraud"', {"service": "fraud-api"}, True),
        ('service!="fraud"', {}, True),
        ('service=~"fraud"', {"service": "fraud-api"}, False),  # anchored, as Alertmanager
        ('service=~"fraud.*"', {"service": "fraud-api"}, True),
        ('service=~"a|b"', {"service": "b"}, True),
        ('service!~"fraud.*"', {"service": "fraud-api"}, False),
        ('team=""', {}, True),  # an absent label is the empty string
        ("severity=critical", {"severity": "critical"}, True),  # quotes are optional
    ],
)
def test_matchers(text, labels, hit):
    assert parse_matcher(text).matches(labels) is hit


def test_the_first_matching_route_decides():
    router = Router(
        AlertsConfig.model_validate(
            {
                "routes": [
                    {"name": "gpu", "matchers": ['alertname=~"GPU.*"'], "severity": "SEV2",
                     "runbook": "gpu-oom", "declare": True},
                    {"matchers": ['team="ml"'], "service_label": "model"},
                ],
            }
        )
    )  # fmt: skip
    d = router.decide({"alertname": "GPUMemory", "team": "ml", "severity": "warning"}, {})
    assert (d.route, d.severity, d.runbook, d.declare) == ("gpu", "SEV2", "gpu-oom", True)
    d = router.decide(
        {"alertname": "Drift", "team": "ml", "model": "fraud", "severity": "critical"},
        {"runbook_url": "https://wiki/drift"},
    )
    assert (d.route, d.severity, d.service, d.declare) == ("#2", "SEV1", "fraud", False)
    assert d.runbook_url == "https://wiki/drift"
    d = router.decide({"alertname": "X", "severity": "info", "service": "s", "runbook": "rb"}, {})
    assert (d.route, d.severity, d.service, d.runbook) == (None, "SEV4", "s", "rb")
    assert router.decide({"alertname": "X", "severity": "odd"}, {}).severity == "SEV3"


@pytest.mark.parametrize(
    ("yaml", "line", "expected"),
    [
        ("alerts:\n  routes:\n    - matchers: ['9lives=x']\n", 4, "alerts.routes[0].matchers: '9lives=x' is not a matcher"),
        ("alerts:\n  routes:\n    - matchers: ['a=~\"(\"']\n", 4, "the regex does not compile"),
        ("alerts:\n  severities:\n    critical: SEV9\n", 4, "alerts.severities.critical"),
        ("alerts:\n  alertmanager:\n    url: http://am:9093\n    token: abc\n", 5,
         "write token: ${env:NAME}"),
        ("alerts:\n  declare: maybe\n", 3, "alerts.declare"),
    ],
)  # fmt: skip
def test_a_bad_alerts_section_is_a_located_error(cli, tmp_path, yaml, line, expected):
    (tmp_path / "oncall.yaml").write_text("name: t\n" + yaml)
    r = cli("incident", "list")
    assert r.code == 2
    first = r.err.strip().splitlines()[0]
    assert first.startswith(f"{tmp_path / 'oncall.yaml'}:{line}:"), first
    assert expected in first
