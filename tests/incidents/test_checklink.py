"""While an incident about a check is open, the check's threshold crossings (recovery too) are
recorded on its timeline, and the chain still verifies."""

from __future__ import annotations

from datetime import timedelta

from mlops_oncall.checks.state import Transition
from mlops_oncall.incidents.checklink import open_incidents_for, record_transitions

from .conftest import T0


def _t(check_id, frm, to, *, service=None, message="", minutes=1):
    return Transition(
        check_id,
        frm,
        to,
        T0 + timedelta(minutes=minutes),
        None,
        None,
        message,
        {},
        None,
        service=service,
    )


def test_transitions_land_on_the_open_incidents_about_the_check(svc, clock):
    inc = svc.declare(
        "Fraud latency", "SEV2", service="fraud-scoring", declared_from_check="fraud.ready"
    )
    other = svc.declare("GPU", "SEV3", service="gpu-inference")
    drill = svc.declare("drill", "SEV3", service="fraud-scoring", drill=True, drill_id="d1")
    clock.advance(timedelta(minutes=2))
    done = record_transitions(
        svc,
        [
            _t("fraud.ready", "up", "down", service="fraud-scoring", message="timeout"),
            _t("fraud.live", "down", "up", service="fraud-scoring", minutes=2),
            _t("unrelated", "up", "down", service="batch"),
        ],
    )
    assert done == [(inc.id, "fraud.ready"), (inc.id, "fraud.live")]
    events = [e for e in svc.events(inc.id) if e.kind == "check_transition"]
    assert [e.text for e in events] == [
        "fraud.ready: up → down (timeout)",
        "fraud.live: down → up",
    ]
    assert events[1].data["to"] == "up" and events[1].data["at"].startswith("2026-11-28T03:02")
    # what a check saw is not put on the responder's name (a blameless timeline)
    assert {e.actor for e in events} == {"monitor"}
    assert not [e for e in svc.events(other.id) if e.kind == "check_transition"]
    assert not [e for e in svc.events(drill.id) if e.kind == "check_transition"]
    assert svc.verify(inc.id).ok
    # once resolved, crossings are no longer recorded on it
    svc.ack(inc.id)
    svc.resolve(inc.id)
    assert record_transitions(svc, [_t("fraud.ready", "down", "up", service="fraud-scoring")]) == []


def test_open_incidents_for_matches_the_declaring_check_or_the_service():
    from mlops_oncall.store.models import Incident

    rows = [
        Incident(id=2, service="fraud-scoring", declared_from_check=None),
        Incident(id=1, service=None, declared_from_check="gpu.memory"),
    ]
    assert [r.id for r in open_incidents_for(rows, "fraud.ready", "fraud-scoring")] == [2]
    assert [r.id for r in open_incidents_for(rows, "gpu.memory", None)] == [1]
    assert open_incidents_for(rows, "x", None) == []


def test_a_crossing_seen_by_two_terminals_is_recorded_once(svc, clock):
    inc = svc.declare("Fraud", "SEV2", service="fraud-scoring")
    down = _t("fraud.ready", "up", "down", service="fraud-scoring")
    assert record_transitions(svc, [down]) == [(inc.id, "fraud.ready")]
    # another TUI's monitor saw the same crossing a moment later
    assert (
        record_transitions(
            svc, [_t("fraud.ready", "up", "down", service="fraud-scoring", minutes=2)]
        )
        == []
    )
    # the next real move (recovery), then going down again, are recorded
    up = _t("fraud.ready", "down", "up", service="fraud-scoring", minutes=3)
    again = _t("fraud.ready", "up", "down", service="fraud-scoring", minutes=4)
    assert record_transitions(svc, [up, again]) == [(inc.id, "fraud.ready")] * 2
    kinds = [e.data["to"] for e in svc.events(inc.id) if e.kind == "check_transition"]
    assert kinds == ["down", "up", "down"]
