"""Drill scores by hand: weighted targets, no points for the game master's declaration, and a
mitigation that counts only after a responder action (then a check recovered, or the scenario
had not cleared the fault itself)."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from mlops_oncall.clock import FixedClock
from mlops_oncall.drills.records import Delivery, DrillRecords
from mlops_oncall.drills.scenario import Scenario, load_scenario
from mlops_oncall.drills.scoring import score_drill
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store.db import open_store

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SCENARIO = {
    "id": "weighted",
    "title": "Weighted latency drill",
    "runbook": "model-latency-spike",
    "service": "fraud-scoring",
    "injects": [
        {"at": "20s", "type": "fault", "target": "fraud-scoring", "fault": "latency",
         "params": {"ms": 2000}},
        {"at": "3m", "type": "clear", "target": "fraud-scoring"},
    ],
    "scoring": {
        "acknowledge_within": "1m",
        "declare_within": "1m",
        "mitigate_within": "3m",
        "weights": {"declare": 2, "mitigate": 3},  # acknowledge: 1 by default; 6 in all
    },
}  # fmt: skip


@pytest.fixture
def drill(backend_url):
    store = open_store(backend_url)
    clock = FixedClock(T0)
    incidents = Incidents(store, clock=clock, actor="responder")
    records = DrillRecords(store, clock, actor="gm")

    def start(mode: str) -> int:
        scenario = Scenario.model_validate(SCENARIO)
        drill_id = records.begin(scenario, mode=mode, speed=1.0, started_at=T0)
        fault = Delivery(
            "fault", 20.0, T0 + timedelta(seconds=20), number=0, target="fraud-scoring",
            fault="latency",
        )  # fmt: skip
        assert records.deliver(drill_id, fault)
        return drill_id

    def at(seconds: float) -> None:
        clock.set(T0 + timedelta(seconds=seconds))

    yield types.SimpleNamespace(records=records, svc=incidents, start=start, at=at)
    store.close()


def _declare(d, seconds, **kw):
    d.at(seconds)
    return d.svc.declare("[drill] w", "SEV2", drill=True, drill_id="DRILL-0001", **kw).id


def _targets(result):
    return [(t["key"], t["weight"], t["seconds"], t["passed"]) for t in result["targets"]]


def test_every_target_met_in_the_tui(drill):
    drill_id = drill.start("tui")
    inc = _declare(drill, 30)
    drill.at(40)
    drill.svc.ack(inc)
    drill.at(60)
    drill.svc.record(inc, "command_run", "kubectl rollout undo", {"exit_code": 0})
    drill.at(120)
    drill.svc.mitigate(inc)  # the scenario clears the fault only at 180
    result = score_drill(drill.records, drill.svc, drill_id)
    assert _targets(result) == [
        ("acknowledge", 1.0, 20.0, True),
        ("declare", 2.0, 10.0, True),
        ("mitigate", 3.0, 100.0, True),
    ]
    assert result["score"] == 100.0


def test_no_points_for_the_game_masters_declaration_or_a_bare_mitigate(drill):
    drill_id = drill.start("headless")
    inc = _declare(drill, 20, by="game_master")  # at the first fault, as the runner does
    drill.at(40)
    drill.svc.ack(inc)
    drill.at(100)
    drill.svc.mitigate(inc)  # nothing was done before it
    result = score_drill(drill.records, drill.svc, drill_id)
    assert _targets(result) == [
        ("acknowledge", 1.0, 20.0, True),
        ("declare", 2.0, None, False),
        ("mitigate", 3.0, None, False),
    ]
    reasons = [t.get("reason") for t in result["targets"]]
    assert reasons == [
        None,
        "declared by the game master, not the responder",
        "mitigated with no responder action (command, step or decision) before it",
    ]
    assert result["score"] == 16.7  # 1 of 6
    # the debrief asks the team to practise what was theirs, with the reason
    from mlops_oncall.drills.debrief import improvements

    assert [i.text for i in improvements(result, Scenario.model_validate(SCENARIO))] == [
        "Practise to mitigate within 3m (mitigated with no responder action (command, step or "
        "decision) before it)"
    ]


@pytest.mark.parametrize(
    ("recovered_at", "mitigate_passed", "score"),
    [
        (55, False, 33.3),  # the check recovered on the scenario's clear, before any action: 2 of 6
        (70, True, 83.3),  # it recovered after the responder's command: 5 of 6
    ],
)
def test_a_mitigation_after_the_scenario_cleared_the_fault(
    drill, recovered_at, mitigate_passed, score
):
    drill_id = drill.start("tui")
    inc = _declare(drill, 30)
    drill.at(50)
    drill.svc.record(inc, "inject", "drill inject: cleared fraud-scoring", {"type": "clear"})
    drill.at(recovered_at if recovered_at < 60 else 60)
    if recovered_at < 60:
        drill.svc.record(inc, "check_transition", "fraud.live up", {"to": "up"})
        drill.at(60)
    drill.svc.record(inc, "command_run", "kubectl rollout undo", {"exit_code": 0})
    if recovered_at >= 60:
        drill.at(recovered_at)
        drill.svc.record(inc, "check_transition", "fraud.live up", {"to": "up"})
    drill.at(90)
    drill.svc.ack(inc)  # 70 s after the fault: late
    drill.at(120)
    drill.svc.mitigate(inc)
    result = score_drill(drill.records, drill.svc, drill_id)
    assert [(t["key"], t["passed"]) for t in result["targets"]] == [
        ("acknowledge", False),
        ("declare", True),
        ("mitigate", mitigate_passed),
    ]
    assert result["score"] == score


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("{speed: 2}", "scoring.weights.speed"),
        ("{mitigate: 0}", "scoring.weights.mitigate"),
    ],
)
def test_bad_weights_are_located(tmp_path, weights, message):
    data = yaml.safe_dump(SCENARIO, sort_keys=False).replace(
        "weights:\n    declare: 2\n    mitigate: 3\n", f"weights: {weights}\n"
    )
    assert f"weights: {weights}" in data
    path = tmp_path / "s.yaml"
    path.write_text(data, encoding="utf-8")
    scenario, problems = load_scenario(path)
    assert scenario is None
    assert any(message in str(p) and f"{path}:" in str(p) for p in problems), problems
