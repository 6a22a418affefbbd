"""A week of an ML platform, written through the public services with a fixed clock.

The week is 2026-11-23 00:00 to 2026-11-30 00:00 UTC. It holds:
- INC-0001, a SEV1 over two days (22:40 on the 26th to 04:10 on the 27th) with the runbook
  worked through, and a check that flapped 50 times across midnight;
- INC-0002, a short SEV3 with no narrative (its postmortem is mostly prompts);
- INC-0003, a drill; INC-0004, declined (neither counts in any incident figure);
- five deploys, one outside the week and one rolled back (linked to INC-0001);
- five risks, two of them reviewed, one overdue for review, one closed;
- a secret: TOKEN is resolved from the environment into a check header, and also leaked
  into a note and a check message; BEARER is pasted into notes.

Every figure the tests assert is worked out by hand in the comments here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mlops_oncall.checks.rollup import BUCKETS_MS, HourRollup
from mlops_oncall.checks.state import Transition
from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.deploys import Deploys
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.reports import candidates
from mlops_oncall.reports.risks import Risks
from mlops_oncall.store import checks_history
from mlops_oncall.store.db import Store

TOKEN = "mt-7f3a9c2e5b1d"  # the value of $MODEL_TOKEN
BEARER = "Bearer zq81bw7x9c3v5n6m"  # a credential pasted into a note
WEEK_START = datetime(2026, 11, 23, tzinfo=UTC)
NOW = datetime(2026, 11, 30, tzinfo=UTC)  # when the reports are made: the end of the week
FIRST_FAILURE = datetime(2026, 11, 26, 22, 43, 30, tzinfo=UTC)
FLAPS = 50

CHECKS_YAML = """\
checks:
  - id: fraud.model-ready
    name: Fraud model ready
    service: fraud-scoring
    url: http://127.0.0.1:8000/v2/models/fraud/ready
    headers: {X-Model-Token: "${env:MODEL_TOKEN}"}
    slo: {availability: 99.9%, latency: 300ms}
  - id: features.health
    name: Feature store health
    service: feature-store
    url: http://127.0.0.1:8001/health
    slo: {availability: 99.5%, latency: 50ms}
  - id: pipeline.freshness
    service: training-pipeline
    url: http://127.0.0.1:8002/last-success
  - id: gpu.memory
    service: fraud-scoring
    url: http://127.0.0.1:8003/gpu
"""


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Seeded:
    store: Store
    clock: FixedClock
    checks_file: Path


def _hour(check: str, hour: datetime, polls: int, up: int, degraded: int, down: int, lat: dict):
    h = HourRollup(check, hour)
    h.polls, h.successes, h.degraded, h.down = polls, up, degraded, down
    for bucket, n in lat.items():
        h.latency_counts[bucket] = n
        h.latency_sum_ms += n * (BUCKETS_MS[bucket] if bucket < len(BUCKETS_MS) else 20000)
    return h


INCIDENT_HOURS = {at(26, 22), at(26, 23), at(27, 0), at(27, 1)}


def rollups() -> list[HourRollup]:
    """168 hours of fraud.model-ready and features.health, 48 of pipeline.freshness.

    fraud.model-ready: 164 normal hours of 120 polls, all up, latency 70 in <=100 ms (bucket 5),
    44 in <=150 (6), 6 in <=300 (8); 4 incident hours of 120 polls: 30 up, 30 degraded, 60 down,
    latency 30 <=100, 30 <=500 (9), 60 <=5000 (15).
      polls 20160, up 19800, degraded 120, down 240 -> uptime 19920/20160 = 98.8095%
      counts: b5 11600, b6 7216, b8 984, b9 120, b15 240 -> p50 (rank 10080) 100 ms,
      p95 (rank 19152: 11600, 18816, 19800) 300 ms
    features.health: 168 hours of 120 polls, 118 up, 2 degraded; latency 100 <=50 (3), 20 <=75 (4)
      uptime 100%, degraded 336/20160 = 1.667%, p50 50 ms, p95 (rank 19152 > 16800) 75 ms
    pipeline.freshness: 48 hours of 12 polls, all up, latency <=750 (10): p50 = p95 = 750 ms
    """
    out = []
    for n in range(168):
        hour = WEEK_START + timedelta(hours=n)
        if hour in INCIDENT_HOURS:
            out.append(_hour("fraud.model-ready", hour, 120, 30, 30, 60, {5: 30, 9: 30, 15: 60}))
        else:
            out.append(_hour("fraud.model-ready", hour, 120, 120, 0, 0, {5: 70, 6: 44, 8: 6}))
        out.append(_hour("features.health", hour, 120, 118, 2, 0, {3: 100, 4: 20}))
        if n >= 120:
            out.append(_hour("pipeline.freshness", hour, 12, 12, 0, 0, {10: 12}))
    # an hour after the week ends, which no weekly figure may include
    out.append(_hour("features.health", NOW, 120, 0, 0, 120, {16: 120}))
    return out


def flapping() -> list[Transition]:
    """fraud.model-ready flaps 50 times, every 3 minutes from 22:44 on the 26th to 01:11.

    Even crossings go up -> down, odd ones down -> up; 26 fall on the 26th (22:44..23:59), 24 on
    the 27th (00:02..01:11). Down 25 times for 3 minutes each: 4500 s, all inside the outage.
    """
    out = []
    start = at(26, 22, 44)
    for k in range(FLAPS):
        down = k % 2 == 0
        message = "[STATUS] = 503, expected 200" if down else ""
        if k == 0:
            message += f" (request sent with {TOKEN})"
        out.append(
            Transition(
                check_id="fraud.model-ready",
                from_state="up" if down else "down",
                to_state="down" if down else "up",
                at=start + timedelta(minutes=3 * k),
                previous_since=start + timedelta(minutes=3 * (k - 1)) if k else None,
                error_class="http_status" if down else None,
                message=message,
                observed={"[STATUS]": 503} if down else {},
                first_failure_at=FIRST_FAILURE if down else None,
                service="fraud-scoring",
            )
        )
    # a week earlier, far outside any window the documents look at
    out.append(
        Transition(
            "fraud.model-ready", "up", "down", at(16, 3), None, "timeout", "old", {}, at(16, 3),
            service="fraud-scoring",
        )
    )  # fmt: skip
    return out


def seed(store: Store, folder: Path) -> Seeded:
    clock = FixedClock(at(23, 9))
    svc = Incidents(store, clock=clock, actor="alice")
    deploys = Deploys(store, clock=clock, actor="ci")
    risks = Risks(store, clock=clock, actor="lead")

    def when(t: datetime) -> None:
        clock.set(t)

    # -- the risk register, first entries
    risks.add(
        "Feature store has no fallback for the fraud model",
        3,
        4,
        "carol",
        category="data dependency",
        description="No cached features -> a feature store outage -> fraud scoring fails open",
        mitigation="Serve cached features for 15 minutes",
        contingency="Switch to the rules engine",
        early_warning="feature lookup p95 above 50 ms",
        runbooks=["feature-store-outage"],
    )  # 12 (high) on the 23rd
    when(at(23, 10))
    risks.add(
        "GPU spend runs over budget",
        2,
        3,
        "dan",
        category="cost",
        mitigation=f"Rotate the {TOKEN} service account",
        next_review=date(2026, 11, 25),
    )  # 6 (medium), never reviewed, its review overdue by the 30th
    risks.add(
        "Vendor LLM API rate limits",
        2,
        2,
        "erin",
        category="vendor/API",
        treatment="transfer",
        status="monitoring",
        residual=(1, 2),
    )  # 4 (low), monitoring

    # -- deploys before the incident; one a week before the report's window
    when(at(24, 10))
    deploys.record("fraud-scoring", "v40", "model", "succeeded", at=at(20, 12))
    deploys.record("fraud-scoring", "v41", "model", "succeeded")

    when(at(25, 10))
    closed = risks.add("Label delay hides accuracy drops", 3, 3, "frank", category="feedback loop")
    risks.update(
        closed["id"], status="closed", treatment="tolerate", approver="lead",
        expires=date(2027, 3, 1),
    )  # closed  # fmt: skip

    # -- INC-0001: the SEV1, from the flapping check
    when(at(26, 22, 55))
    inc = svc.declare(
        "Fraud scoring p99 above SLO, then 503s",
        "SEV1",
        service="fraud-scoring",
        runbook=pinned_runbook("model-latency-spike"),
        declared_from_check="fraud.model-ready",
        detected_at=FIRST_FAILURE,
        impact_started_at=at(26, 22, 40),
    ).id
    when(at(26, 23, 1))
    svc.ack(inc)
    svc.assign(inc, "commander", "alice")
    svc.assign(inc, "operations", "bob")
    when(at(26, 23, 3))
    svc.note(inc, f"curl with token {TOKEN} returns 503 | p99 at 2.4 s")
    svc.note(inc, f"paged the vendor; their header was {BEARER}\nsecond line of the note")
    when(at(26, 23, 5))
    svc.step(inc, "what-changed", "done", note="model v42 rolled out at 22:35")
    deploys.record("fraud-scoring", "v42", "model", "rolled_back", incident=inc, at=at(26, 22, 35))
    when(at(26, 23, 10))
    svc.step(inc, "p99-by-workload", "done", note="all workloads, not only the tail")
    when(at(26, 23, 12))
    svc.step(inc, "queue-vs-compute", "skipped")
    when(at(26, 23, 13))
    svc.step(inc, "input-size", "skipped")
    when(at(26, 23, 20))
    svc.step(inc, "cold-starts", "failed", note="kubectl timed out")
    when(at(26, 23, 25))
    svc.step(inc, "cold-starts", "done", note="no new pods")
    when(at(26, 23, 30))
    svc.decide(inc, "cause", "1", note="the spike began 5 minutes after v42")
    when(at(27, 0, 10))
    svc.record(
        inc,
        "command_run",
        "kubectl rollout undo deploy/fraud-model\nOUTPUT-MUST-NOT-APPEAR",
        {
            "command": "kubectl rollout undo deploy/fraud-model",
            "exit_code": 0,
            "output": "deployment.apps/fraud-model rolled back OUTPUT-MUST-NOT-APPEAR",
        },
    )
    svc.record(
        inc,
        "command_run",
        "kubectl get pods | grep fraud",
        {"command": "kubectl get pods | grep `fraud`", "exit_code": 1, "output": "nothing"},
    )
    svc.step(inc, "rollback", "done", note="v41 serving again")
    when(at(27, 1, 30))
    svc.mitigate(inc)
    when(at(27, 1, 45))
    svc.step(inc, "verify-p99", "done")
    when(at(27, 1, 50))
    svc.step(inc, "communicate", "done")
    when(at(27, 1, 51))
    svc.step(inc, "escalate-latency", "skipped", note="recovered")
    when(at(27, 3))
    deploys.record("fraud-scoring", "v43", "model", "succeeded")
    when(at(27, 4, 10))
    svc.resolve(inc)
    when(at(27, 5))
    svc.action_add(
        inc, "Alert on canary p99 before full rollout", type="prevent", owner="bob",
        due=date(2026, 11, 27), priority="P1", link="https://tracker.example/OPS-481",
    )  # fmt: skip
    svc.action_add(
        inc, "Add p99 to the rollout checklist", type="process", owner="carol",
        due=date(2026, 12, 10),
    )  # fmt: skip
    svc.action_add(inc, "Roll back v42 | pin v41", type="mitigate", owner="alice")
    svc.action_done(inc, 3)
    narrative = {
        "summary": "A model rollout (v42) doubled p99 latency of fraud scoring; then the "
        "model server began answering 503.",
        "impact": "For 2h 50m about 40% of card payments were scored by the rules fallback.",
        "root_cause": "v42 was four times larger and ran out of GPU memory under peak load.",
        "contributing_factors": "The canary ran at 5% traffic, too little to reach peak load.",
        "trigger": "The promotion of model v42 at 22:35.",
        "resolution": "Rolled back to v41 at 00:10; the queue drained by 01:30.",
        "authors": "alice, bob",
        "went_well": "- The check paged within 4 minutes\n- The runbook pointed at the deploy",
        "went_wrong": "* kubectl timed out on the first try",
        "lucky": "It was a quiet night for payments\nThe rules fallback held the load",
        "model_versions": "fraud v42 (the bad one), v41 (rolled back to, serving since 00:10)",
        "predictions_affected": "About 18,000 payments scored by the rules fallback, 22:40-01:30",
        "decisions_to_review": "1,240 payments the rules fallback declined",
        "labels_confirm_by": "Chargeback labels for those payments by 2026-12-27",
    }
    for name, value in narrative.items():
        svc.set_field(inc, name, value)
    candidates.accept(risks, svc.get(inc), "action-1")  # 3x5 = 15, linked to INC-0001
    risks.update("R-005", runbooks=["model-latency-spike", "bad-model-rollout"])

    # -- INC-0002: a short SEV3 with no narrative yet
    when(at(28, 9, 30))
    deploys.record("feature-store", "cfg-7", "config", "succeeded")
    when(at(28, 10))
    inc2 = svc.declare(
        "Feature store p95 creeping up",
        "SEV3",
        service="feature-store",
        impact_started_at=at(28, 9, 50),
    ).id
    svc.note(inc2, f"vendor token was {BEARER}")
    when(at(28, 10, 4))
    svc.ack(inc2)
    when(at(28, 10, 30))
    svc.mitigate(inc2)
    when(at(28, 11))
    svc.resolve(inc2)
    when(at(28, 12))
    risks.review("R-001", 4, 4, note="INC-0002 came close")  # 12 -> 16: +4, critical

    # -- the risk reviewed down, and a drill
    when(at(29, 9))
    risks.review("R-005", 2, 5, note="canary alert in review")  # 15 -> 10: −5, high
    when(at(29, 14))
    drill = svc.declare(
        "[drill] stale features",
        "SEV2",
        service="fraud-scoring",
        drill=True,
        drill_id="stale-features",
        runbook=pinned_runbook("stale-features-or-model"),
    ).id
    when(at(29, 14, 3))
    svc.ack(drill)
    when(at(29, 14, 5))
    svc.step(drill, "what-changed", "done")
    when(at(29, 14, 20))
    svc.mitigate(drill)
    when(at(29, 14, 25))
    svc.action_add(
        drill, "Write the stale-feature alert", type="process", owner="dan",
        due=date(2026, 11, 29),
    )  # fmt: skip
    when(at(29, 14, 30))
    svc.resolve(drill)

    # -- INC-0004: a declined page
    when(at(29, 16))
    noise = svc.declare("Noisy GPU memory alert", "SEV4", service="fraud-scoring")
    svc.set_status(noise.id, "declined", note="a known false positive")

    checks_history.record_transitions(store, flapping())
    checks_history.merge_rollups(store, rollups())
    when(NOW)
    checks_file = folder / "checks.yaml"
    checks_file.write_text(CHECKS_YAML, encoding="utf-8")
    return Seeded(store, clock, checks_file)


def pinned_runbook(runbook_id: str):
    """The runbook as these goldens were written against: the shipped library evolves (steps
    reordered, placeholders), and a report test should not change with it."""
    from mlops_oncall.runbooks.loader import load_runbook

    loaded = load_runbook(
        Path(__file__).parent.parent / "fixtures" / "reports" / "runbooks" / f"{runbook_id}.yaml"
    )
    assert loaded.runbook is not None, [str(p) for p in loaded.problems]
    return loaded.runbook
