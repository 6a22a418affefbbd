"""Alerts.of_incident: the groups declared as or attached to an incident with their firing
and total alerts (the incident screen's header), on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.alerts.conftest import T0, alert, payload


def test_groups_of_an_incident_with_their_counts(make):
    s = make({"routes": [{"matchers": ['alertname="ModelLatencyHigh"'], "declare": True}]})
    got = s.alerts.receive(payload(alert("aaaa000000000001"), alert("aaaa000000000002")))
    other = s.alerts.receive(
        payload(
            alert("bbbb000000000001", "QueueHigh"),
            group_key='{}:{alertname="QueueHigh"}',
            groupLabels={"alertname": "QueueHigh"},
        )
    )
    assert other.state == "inbox"
    s.alerts.attach(other.group, got.incident)
    assert s.alerts.of_incident(got.incident) == [(got.group, 2, 2), (other.group, 1, 1)]
    resolved = alert("aaaa000000000001", status="resolved", ends=T0)
    s.alerts.receive(payload(resolved, alert("aaaa000000000002")))
    assert s.alerts.of_incident(got.incident)[0] == (got.group, 1, 2)
    assert s.alerts.of_incident("INC-0999") == []
