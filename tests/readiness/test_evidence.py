"""Evidence filled in from a real workspace: a check against a local HTTP server, up and down;
runbooks drilled or not; the SLO from the checks file; and the exact scores that follow."""

from __future__ import annotations

from mlops_oncall.readiness import evidence as ev
from mlops_oncall.readiness import scoring
from mlops_oncall.readiness.loader import load_answers, load_checklist
from tests.checks.servers import Reply

from .conftest import drill


def _review(session, workspace):
    checklist = load_checklist(workspace / "checklist.yaml")
    facts = session.readiness_facts(checklist, "fraud-scoring")
    findings = ev.evaluate(checklist, facts)
    answers = load_answers(workspace / "answers.yaml", checklist)
    for f in ev.waiting(findings):
        a = answers.by_item[f.item.id]
        ev.answer(f, a.answer, a.note)
    return {f.item.id: f for f in findings}


def test_prefilled_with_the_check_up_and_a_recent_drill(session, workspace):
    drill(session, "latency-after-rollout", days_ago=10)  # runbook model-latency-spike
    drill(session, "gpu-oom", days_ago=2, status="aborted")  # not finished: never counts
    found = _review(session, workspace)
    assert (found["ready"].status, found["ready"].detail) == ("pass", "fraud.ready is up")
    assert found["ready"].prefilled
    assert (found["all-up"].status, found["all-up"].detail) == ("pass", "1 of 1 checks up")
    assert found["latency-drilled"].status == "pass"
    assert found["latency-drilled"].detail == "model-latency-spike: last drilled 10d ago"
    assert found["rollback-drilled"].status == "partial"
    assert found["rollback-drilled"].detail == "bad-model-rollout: in the library, never drilled"
    assert (found["missing-runbook"].status, found["missing-runbook"].detail) == (
        "fail",
        "no runbook 'nope'",
    )
    assert found["availability"].status == "pass" and found["availability"].prefilled
    assert (found["pii"].status, found["pii"].note) == ("partial", "masked in logs only")
    assert not found["pii"].prefilled
    assert found["doc"].status == "fail" and found["doc"].source == "answer"

    findings = list(found.values())
    assert scoring.overall(findings).to_json() == {"percent": 75.0, "points": 18.0, "max": 24}
    assert {c: s.percent for c, s in scoring.by_category(findings).items()} == {
        "monitoring": 100.0,
        "rollback": 50.0,
        "on-call": 80.0,
        "security": 50.0,
        "documentation": 0.0,
    }
    assert [f.item.id for f in scoring.gaps(findings)] == [
        "pii",
        "rollback-drilled",
        "missing-runbook",
        "doc",
    ]


def test_the_check_down_and_a_stale_drill(session, workspace, health):
    health.routes["/v2/health/ready"] = Reply(503, "loading")
    drill(session, "latency-after-rollout", days_ago=45)
    found = _review(session, workspace)
    assert found["ready"].status == "fail"
    assert found["ready"].detail.startswith("fraud.ready is down")
    assert found["all-up"].status == "fail"
    assert found["all-up"].detail.startswith("0 of 1 checks up (fraud.ready down")
    assert found["latency-drilled"].status == "partial"
    assert found["latency-drilled"].detail == (
        "model-latency-spike: last drilled 45d ago (wanted within 30d)"
    )
    findings = list(found.values())
    # 0 + 0 + 2 + 1 + 0 + 2 + 3 + 0 of 24
    assert scoring.overall(findings).to_json() == {"percent": 33.3, "points": 8.0, "max": 24}


def test_no_slo_in_the_checks_file_waits_for_an_answer(session, workspace):
    (workspace / "checks.yaml").write_text(
        (workspace / "checks.yaml").read_text().replace("    slo: {availability: '99.9%'}\n", "")
    )
    session.__dict__.pop("checks", None)
    checklist = load_checklist(workspace / "checklist.yaml")
    found = {
        f.item.id: f
        for f in ev.evaluate(checklist, session.readiness_facts(checklist, "fraud-scoring"))
    }
    assert found["availability"].status is None
    assert found["availability"].detail == "no availability SLO in checks.yaml or slos.yaml"
    assert [f.item.id for f in ev.waiting(list(found.values()))] == ["availability", "pii", "doc"]


def test_an_slo_in_slos_yaml_over_the_services_check(session, workspace):
    (workspace / "checks.yaml").write_text(
        (workspace / "checks.yaml").read_text().replace("    slo: {availability: '99.9%'}\n", "")
    )
    (workspace / "slos.yaml").write_text(
        "slos:\n  - {id: fraud-availability, checks: [fraud.ready], objective: 99.5}\n"
    )
    session.__dict__.pop("checks", None)
    checklist = load_checklist(workspace / "checklist.yaml")
    facts = session.readiness_facts(checklist, "fraud-scoring")
    assert facts.slos == {"availability"}
    found = {f.item.id: f for f in ev.evaluate(checklist, facts)}
    assert (found["availability"].status, found["availability"].detail) == (
        "pass",
        "availability SLO defined",
    )
    assert found["availability"].prefilled
