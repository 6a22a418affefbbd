"""The alerts service on SQLite and PostgreSQL: grouping, idempotency, resolution, a new incident
after the old one ended, the inbox (declare, attach, dismiss), redaction, concurrent delivery."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from mlops_oncall.alerts.payload import PayloadError
from mlops_oncall.formats.errors import IncidentError
from tests.alerts.conftest import alert, payload, resolved

DECLARE = {"routes": [{"name": "fraud", "matchers": ['service=~"fraud-.*"'], "declare": True}]}


def kinds(session, ref, kind=None):
    events = session.incidents.events(ref)
    return [e for e in events if kind is None or e.kind == kind]


def test_a_group_declares_one_incident_with_one_event_per_fingerprint(make):
    s = make(DECLARE)
    a, b = alert("aaaa000000000001"), alert("aaaa000000000002", labels={"pod": "p2"})
    first = s.alerts.receive(payload(a))
    assert (first.state, first.incident, first.fired) == (
        "declared",
        "INC-0001",
        [a["fingerprint"]],
    )
    second = s.alerts.receive(payload(a, b))
    assert (second.incident, second.fired, second.new_group) == (
        "INC-0001",
        [b["fingerprint"]],
        False,
    )
    fired = kinds(s, "INC-0001", "alert_fired")
    assert [e.data["fingerprint"] for e in fired] == [a["fingerprint"], b["fingerprint"]]
    assert {e.actor for e in fired} == {"alertmanager"}
    view = s.incidents.get("INC-0001")
    assert (view.row.severity, view.row.service) == ("SEV1", "fraud-api")
    assert view.row.title == "ModelLatencyHigh: p99 latency over 2s"
    assert view.row.detected_source == "alert"

    # the same notification again (a retry, the repeat interval) adds nothing
    before = len(kinds(s, "INC-0001"))
    again = s.alerts.receive(payload(a, b))
    assert (again.fired, again.resolved) == ([], [])
    assert len(kinds(s, "INC-0001")) == before

    done = s.alerts.receive(payload(resolved(a), resolved(b)))
    assert sorted(done.resolved) == sorted([a["fingerprint"], b["fingerprint"]])
    (event,) = kinds(s, "INC-0001", "alerts_resolved")
    assert sorted(event.data["fingerprints"]) == sorted(done.resolved)
    assert event.data["still_firing"] == 0
    assert "consider mitigating" in event.text
    s.alerts.receive(payload(resolved(a), resolved(b)))  # resent: still one event
    assert len(kinds(s, "INC-0001", "alerts_resolved")) == 1
    assert s.incidents.get("INC-0001").row.status == "triage"  # not closed by alerts
    assert s.incidents.verify("INC-0001").ok  # the chain and the summary agree


def test_a_firing_after_the_incident_resolved_opens_a_new_incident(make, clock):
    s = make(DECLARE)
    a = alert("bbbb000000000001")
    s.alerts.receive(payload(a))
    s.alerts.receive(payload(resolved(a)))
    s.incidents.set_status("INC-0001", "investigating")
    s.incidents.set_status("INC-0001", "resolved")
    clock.advance(timedelta(minutes=30))
    again = alert("bbbb000000000001", starts=clock.now() - timedelta(minutes=1))
    got = s.alerts.receive(payload(again))
    assert (got.incident, got.new_group, got.group) == ("INC-0002", True, "ALG-0002")
    assert s.incidents.get("INC-0001").row.status == "resolved"  # never reopened
    assert len(kinds(s, "INC-0002", "alert_fired")) == 1


def test_resolve_closes_moves_the_incident_to_mitigated_only(make):
    s = make(DECLARE | {"resolve_closes": True})
    a = alert("cccc000000000001")
    s.alerts.receive(payload(a))
    s.alerts.receive(payload(resolved(a)))
    record = s.incidents.get("INC-0001").row
    assert record.status == "mitigated"
    assert record.mitigated_source == "alert"
    assert s.incidents.verify("INC-0001").ok  # verify replays the status moves


def test_an_inbox_group_waits_for_a_human_then_declares(make):
    s = make({"declare": False})
    a = alert("dddd000000000001", labels={"severity": "warning"})
    got = s.alerts.receive(payload(a))
    assert (got.state, got.incident) == ("inbox", None)
    assert s.incidents.list() == []
    (group,) = s.alerts.groups()
    assert (group.id, group.state, len(group.firing)) == ("ALG-0001", "inbox", 1)
    assert group.to_json()["severity"] == "SEV1"  # commonLabels.severity=critical
    view = s.alerts.declare("ALG-0001")
    assert (view.state, view.incident) == ("declared", "INC-0001")
    events = kinds(s, "INC-0001")
    assert events[0].kind == "declared" and events[0].actor == s.actor
    assert [e.actor for e in events if e.kind == "alert_fired"] == ["alertmanager"]
    with pytest.raises(IncidentError, match="already declared"):
        s.alerts.declare("ALG-0001")
    # later alerts of the group go to its incident
    s.alerts.receive(payload(a, alert("dddd000000000002")))
    assert len(kinds(s, "INC-0001", "alert_fired")) == 2


def test_attach_and_dismiss(make):
    s = make()
    s.incidents.declare("fraud model slow", "SEV2")
    s.alerts.receive(payload(alert("eeee000000000001")))
    s.alerts.receive(payload(alert("eeee000000000002", "GPUMemory"), group_key='{}:{x="2"}'))
    view = s.alerts.attach("ALG-0001", "INC-0001")
    assert (view.state, view.incident) == ("attached", "INC-0001")
    notes = [e.text for e in kinds(s, "INC-0001", "note")]
    assert notes == ["attached alert group ALG-0001 (1 alerts)"]
    assert len(kinds(s, "INC-0001", "alert_fired")) == 1
    assert s.alerts.dismiss("ALG-0002").state == "dismissed"
    with pytest.raises(IncidentError, match="not in the inbox"):
        s.alerts.dismiss("ALG-0001")
    with pytest.raises(IncidentError, match="unknown alert group"):
        s.alerts.get("ALG-0099")
    assert [g.id for g in s.alerts.groups()] == ["ALG-0001"]  # dismissed: not listed
    assert {g.id for g in s.alerts.groups(all=True)} == {"ALG-0001", "ALG-0002"}


def test_labels_and_annotations_are_stored_redacted(make):
    s = make(DECLARE)
    secret = "ghp_" + "A" * 36
    s.alerts.receive(
        payload(alert("ffff000000000001", annotations={"description": f"token {secret}"}))
    )
    (group,) = s.alerts.groups()
    assert secret not in str(group.to_json())
    assert all(secret not in str(e.data) + e.text for e in kinds(s, "INC-0001"))


def test_a_notification_delivered_twice_at_once_is_recorded_once(make):
    s1, s2 = make(DECLARE), make(DECLARE)
    body = payload(alert("9999000000000001"), alert("9999000000000002"))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def deliver(s):
        barrier.wait()
        try:
            results.append(s.alerts.receive(body))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(x,)) for x in (s1, s2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(s1.incidents.list()) == 1
    assert len(kinds(s1, "INC-0001", "alert_fired")) == 2
    assert sorted(len(r.fired) for r in results) == [0, 2]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "expected a JSON object"),
        ({"version": "3"}, 'version: expected "4"'),
        (payload(alert("a")) | {"status": "odd"}, "status: expected firing or resolved"),
        (payload(alert("a")) | {"alerts": []}, "alerts: expected a non-empty list"),
        (payload(alert("a") | {"startsAt": "yesterday"}), "alerts[0].startsAt"),
        (payload(alert("a") | {"labels": {"x": 1}}), "alerts[0].labels.x: expected a string"),
        (payload(alert("a")) | {"groupKey": ""}, "groupKey: expected a non-empty string"),
    ],
)
def test_a_bad_payload_names_the_field(make, body, reason):
    s = make()
    with pytest.raises(PayloadError) as err:
        s.alerts.receive(body)
    assert reason in str(err.value)
    assert s.alerts.groups(all=True) == []


def test_unknown_fields_are_ignored(make):
    s = make()
    body = payload(alert("a1") | {"newField": 1}) | {"somethingNew": {"x": 1}}
    assert s.alerts.receive(body).state == "inbox"


def test_the_runbook_whose_alert_triggers_match_is_attached(make, tmp_path):
    from pathlib import Path

    import mlops_oncall.ui.gallery as gallery

    source = (Path(gallery.__file__).parent / "runbooks" / "latency.yaml").read_text()
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "latency.yaml").write_text(
        source.replace(
            "triggers: {checks: [fraud.ready],", "triggers: {alerts: [ModelLatencyHigh],"
        )
    )
    s = make(DECLARE)
    s.alerts.receive(payload(alert("1111000000000001")))
    (attached,) = kinds(s, "INC-0001", "runbook_attached")
    assert attached.data["runbook"] == "fraud-latency"
    # a route naming a runbook the library lacks declares without one
    s2 = make({"routes": [{"matchers": [], "declare": True, "runbook": "nope"}]})
    s2.alerts.receive(payload(alert("1111000000000002"), group_key="{}:{b}"))
    assert kinds(s2, "INC-0002", "runbook_attached") == []


def test_the_declaration_preview_and_the_responders_changes(make):
    s = make({"declare": False})
    s.incidents.declare("earlier fraud outage", "SEV2", service="fraud-api")
    s.alerts.receive(
        payload(alert("2222000000000001", annotations={"runbook_url": "https://wiki/lat"}))
    )
    d = s.alerts.declaration("ALG-0001")
    assert (d.group, d.title, d.severity, d.service) == (
        "ALG-0001",
        "ModelLatencyHigh: p99 latency over 2s",
        "SEV1",
        "fraud-api",
    )
    assert d.notes == [
        "From Alertmanager: ALG-0001 (receiver oncall, route -)",
        "Runbook link from the alert: https://wiki/lat",
    ]
    assert [p["id"] for p in d.past] == ["INC-0001"]
    assert s.alerts.groups()[0].state == "inbox"  # the preview wrote nothing
    view = s.alerts.declare("ALG-0001", title="Fraud p99 over SLO", severity="SEV2")
    row = s.incidents.get(view.incident).row
    assert (row.title, row.severity, row.detected_source) == ("Fraud p99 over SLO", "SEV2", "alert")
