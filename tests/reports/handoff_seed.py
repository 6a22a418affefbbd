"""A shift to hand off, written through the public services with a fixed clock.

The note is made at NOW (2026-11-30 00:00 UTC); without a recorded hand-off it starts 12 h
earlier, at 12:00 on the 29th. The store holds:
- INC-0001, resolved days ago (neither open nor changed);
- INC-0002, SEV2 -> SEV1, open since 04:00 on the 29th with the runbook part-worked; in the
  shift: the severity raised, status investigating, two notes (one with a credential),
  three steps and a decision;
- INC-0003, a SEV3 resolved at 22:00 in the shift (changed, no longer open);
- INC-0004, an open drill (left out);
- action items on INC-0002: overdue (due the 29th), due soon (2 December), not soon (10th);
- check crossings: fraud.model-ready down at 21:00, features.health degraded, pipeline
  back up (not failing);
- risks: one review overdue, one due tomorrow, one in a month;
- drills: gpu-oom last run 120 days ago, data-drift 5 days ago; the others never.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial

from mlops_oncall.checks.state import Transition
from mlops_oncall.clock import FixedClock
from mlops_oncall.drills.library import find_scenario
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.reports.risks import Risks
from mlops_oncall.store import checks_history

from .seed import BEARER, pinned_runbook

NOW = datetime(2026, 11, 30, tzinfo=UTC)
SHIFT_START = NOW - timedelta(hours=12)


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def seed_shift(store) -> None:
    clock = FixedClock(NOW - timedelta(days=10))
    svc = Incidents(store, clock=clock, actor="alice")
    risks = Risks(store, clock=clock, actor="lead")

    risks.add("Feature store has no fallback", 3, 4, "carol", next_review=date(2026, 11, 28))
    risks.add("GPU spend over budget", 2, 3, "dan", next_review=date(2026, 12, 1))
    risks.add("Vendor rate limits", 2, 2, "erin", next_review=date(2026, 12, 30))

    clock.set(NOW - timedelta(days=5))
    old = svc.declare("Old pipeline stall", "SEV4").id
    svc.set_status(old, "investigating")
    svc.resolve(old)

    clock.set(ago(20))
    inc = svc.declare(
        "Fraud scoring p99 above SLO",
        "SEV2",
        service="fraud-scoring",
        runbook=pinned_runbook("model-latency-spike"),
    ).id
    svc.assign(inc, "commander", "alice")
    svc.assign(inc, "operations", "bob")
    clock.set(ago(19))
    svc.step(inc, "what-changed", "done")
    svc.step(inc, "p99-by-workload", "done")
    svc.action_add(inc, "Alert on p99 per workload", type="prevent", owner="bob",
                   due=date(2026, 11, 29))  # fmt: skip
    svc.action_add(inc, "Rollback runbook for v42", type="mitigate", owner="carol",
                   due=date(2026, 12, 2))  # fmt: skip
    svc.action_add(inc, "Capacity review", type="process", owner="dan", due=date(2026, 12, 10))

    clock.set(ago(30))
    minor = svc.declare("Feature lag on the batch path", "SEV3", service="feature-store").id
    clock.set(ago(21))
    svc.ack(minor)
    clock.set(ago(2))
    svc.resolve(minor)

    clock.set(ago(10))
    svc.declare("Drill: GPU OOM", "SEV2", drill=True, drill_id="DRILL-0009")

    # -- the shift
    clock.set(ago(6))
    svc.set_severity(inc, "SEV1")
    svc.ack(inc)  # triage -> investigating
    svc.note(inc, "p99 at 2.4 s on every workload")
    svc.note(inc, f"vendor says their header was {BEARER}")
    clock.set(ago(5))
    svc.step(inc, "queue-vs-compute", "skipped")
    svc.step(inc, "input-size", "skipped")
    svc.step(inc, "cold-starts", "done")
    svc.decide(inc, "cause", "1", note="began after v42")

    checks_history.record_transitions(
        store,
        [
            Transition("fraud.model-ready", "up", "down", ago(3), None, "http_status",
                       "[STATUS] = 503, expected 200", {}, ago(3), service="fraud-scoring"),
            Transition("features.health", "up", "degraded", ago(8), None, "latency",
                       "[RESPONSE_TIME] = 80, expected < 50", {}, ago(8)),
            Transition("pipeline.freshness", "up", "down", ago(9), None, "timeout", "t", {},
                       ago(9)),
            Transition("pipeline.freshness", "down", "up", ago(7), ago(9), None, "", {}, None),
        ],
    )  # fmt: skip

    from mlops_oncall.drills.records import DrillRecords

    drills = DrillRecords(store, clock)
    for sid, days in (("gpu-oom", 120), ("data-drift", 5)):
        drills.begin(
            find_scenario(sid, None).scenario,
            mode="headless",
            speed=1.0,
            started_at=NOW - timedelta(days=days),
        )


def handoff_inputs(store, clock) -> dict:
    """What the hand-off reads, built over ``store`` as Session.handoff_inputs would."""
    from mlops_oncall.drills.library import list_scenarios
    from mlops_oncall.drills.records import DrillRecords

    last: dict = {}
    for d in DrillRecords(store, clock).list():
        last.setdefault(d.scenario_id, d.started_at)
    entries, _ = list_scenarios(None)
    return {
        "incidents": Incidents(store, clock=clock),
        "risks": Risks(store, clock=clock),
        "check_states": partial(checks_history.latest_transitions, store),
        "scenarios": {
            e.scenario.id: {"title": e.scenario.title, "last_drilled": last.get(e.scenario.id)}
            for e in entries
        },
        "clock": clock,
    }
