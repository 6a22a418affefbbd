"""Deadlines on the dispatcher's (fixed) clock: a runbook's `escalation: {after, to}` passed
without mitigation notifies the target through its destination and records `escalated` once;
mitigated in time, nothing. A `when: unacknowledged` rule after N minutes, once, not after an
acknowledgement. Both backends, against a local webhook receiver."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from mlops_oncall.runbooks.loader import load_runbook
from tests.conftest import FIXTURES
from tests.notify.conftest import SECRET, Answer

pytestmark = pytest.mark.timeout(60)

RB = load_runbook(FIXTURES / "malformed" / "unreachable_step.yaml").runbook.model_copy(
    update={"id": "fraud-latency"}
)


def _with_escalation(after: timedelta, to: str):
    from mlops_oncall.runbooks.schema import Escalation

    return RB.model_copy(update={"escalation": Escalation(after=after, to=to)})


def _session(make, receiver, monkeypatch, rules=()):
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/{SECRET}")
    receiver.default = Answer(200, "ok")
    return make(
        {
            "notify": {"ml-platform": {"type": "webhook", "url": "${env:HOOK_URL}"}},
            "notifications": list(rules),
        }
    )


def tick(s):
    return asyncio.run(s.dispatcher.tick())


def kinds(s, ref, kind):
    return [e for e in s.incidents.events(ref) if e.kind == kind]


def test_escalation_deadline_passed_notifies_the_target_once(make, receiver, monkeypatch, clock):
    s = _session(make, receiver, monkeypatch)
    view = s.incidents.declare("Fraud model p99 over 2s", "SEV2", service="fraud-api")
    s.incidents.attach(view.id, _with_escalation(timedelta(minutes=30), "ml-platform"))
    clock.advance(timedelta(minutes=29, seconds=59))
    p = tick(s)
    assert (p.recorded, p.delivered, receiver.seen) == ([], 0, [])
    clock.advance(timedelta(seconds=1))
    p = tick(s)
    assert (p.recorded, p.queued, p.delivered) == ([f"{view.id} escalated"], 1, 1)
    [esc] = kinds(s, view.id, "escalated")
    assert esc.actor == "monitor"
    assert esc.data == {
        "runbook": "fraud-latency",
        "after_seconds": 1800,
        "to": "ml-platform",
        "deadline": "2026-11-28T03:30:00Z",
    }
    [r] = receiver.seen
    doc = r.json
    assert doc["type"] == "notification" and doc["version"] == 1
    assert doc["notification"] == {
        "kind": "escalation",
        "at": "2026-11-28T03:30:00Z",
        "summary": f"[SEV2] {view.id} escalation: Fraud model p99 over 2s",
        "detail": "escalate to ml-platform: runbook fraud-latency's 30m passed without mitigation",
    }
    assert r.headers["Idempotency-Key"] == doc["idempotency_key"]
    [n] = kinds(s, view.id, "notified")
    assert n.data["kind"] == "escalation" and n.data["destination"] == "ml-platform"
    # later passes neither record it again nor send it again
    clock.advance(timedelta(hours=2))
    p = tick(s)
    assert (p.recorded, p.queued, p.delivered) == ([], 0, 0)
    assert len(kinds(s, view.id, "escalated")) == 1 and len(receiver.seen) == 1
    assert s.incidents.verify(view.id).ok


def test_mitigated_in_time_nothing_happens(make, receiver, monkeypatch, clock):
    s = _session(make, receiver, monkeypatch)
    view = s.incidents.declare("Fraud model p99 over 2s", "SEV2")
    s.incidents.attach(view.id, _with_escalation(timedelta(minutes=30), "ml-platform"))
    clock.advance(timedelta(minutes=20))
    s.incidents.ack(view.id)
    s.incidents.mitigate(view.id)
    clock.advance(timedelta(hours=1))
    p = tick(s)
    assert (p.recorded, p.queued, receiver.seen) == ([], 0, [])
    assert kinds(s, view.id, "escalated") == []


def test_escalation_rule_adds_destinations(make, receiver, monkeypatch, clock):
    """`to:` of the runbook names no destination here (a team name): the escalation rule's
    destinations are notified, and the record names the runbook's target."""
    s = _session(make, receiver, monkeypatch, [{"when": "escalation", "to": ["ml-platform"]}])
    view = s.incidents.declare("Drift on fraud features", "SEV3")
    s.incidents.attach(view.id, _with_escalation(timedelta(minutes=15), "data-science on-call"))
    clock.advance(timedelta(minutes=15))
    assert tick(s).delivered == 1
    [esc] = kinds(s, view.id, "escalated")
    assert esc.data["to"] == "data-science on-call"
    assert "escalate to data-science on-call" in receiver.seen[0].json["notification"]["detail"]


def test_no_destination_for_the_target_records_nothing(make, receiver, monkeypatch, clock):
    s = _session(make, receiver, monkeypatch)
    view = s.incidents.declare("Drift on fraud features", "SEV3")
    s.incidents.attach(view.id, _with_escalation(timedelta(minutes=15), "someone"))
    clock.advance(timedelta(hours=1))
    assert tick(s).recorded == []
    assert kinds(s, view.id, "escalated") == []


def test_unacknowledged_after_n_minutes(make, receiver, monkeypatch, clock):
    rule = {"when": "unacknowledged", "after": "15m", "min_severity": "SEV2", "to": ["ml-platform"]}
    s = _session(make, receiver, monkeypatch, [rule])
    late = s.incidents.declare("Fraud model down", "SEV1")
    acked = s.incidents.declare("Ranking model stale", "SEV2")
    minor = s.incidents.declare("Batch job slow", "SEV3")
    clock.advance(timedelta(minutes=10))
    s.incidents.ack(acked.id)
    clock.advance(timedelta(minutes=4, seconds=59))
    assert tick(s).recorded == []
    clock.advance(timedelta(seconds=1))
    p = tick(s)
    assert (p.recorded, p.delivered) == ([f"{late.id} unacknowledged"], 1)
    [ev] = kinds(s, late.id, "unacknowledged")
    assert ev.data == {"after_seconds": 900, "deadline": "2026-11-28T03:15:00Z"}
    assert receiver.seen[0].json["notification"]["summary"] == (
        f"[SEV1] {late.id} not acknowledged: Fraud model down"
    )
    assert kinds(s, acked.id, "unacknowledged") == [] and kinds(s, minor.id, "unacknowledged") == []
    clock.advance(timedelta(minutes=30))
    assert tick(s).recorded == [] and len(receiver.seen) == 1  # once
