"""A real workspace for readiness reviews: a checks file pointing at a local HTTP server, the
shipped runbooks, a SQLite store with drills, and a small checklist with known weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.checks.servers import HTTPTestServer, Reply

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

CHECKLIST = """\
kind: readiness
id: small
title: A small checklist
owner: tests
last_validated: 2026-11-30
items:
  - {id: ready, title: Ready endpoint up, category: monitoring, weight: 5, evidence: {check: fraud.ready}}
  - {id: all-up, title: Every check up, category: monitoring, weight: 3, evidence: {check: "*"}}
  - id: latency-drilled
    title: Latency runbook drilled
    category: on-call
    weight: 4
    evidence: {runbook: model-latency-spike, drilled_within: 30d}
  - id: rollback-drilled
    title: Rollback drilled
    category: rollback
    weight: 2
    evidence: {runbook: bad-model-rollout, drilled_within: 30d}
  - {id: missing-runbook, title: A runbook nobody wrote, category: on-call, weight: 1, evidence: {runbook: nope}}
  - {id: availability, title: Availability SLO, category: monitoring, weight: 2, evidence: {slo: availability}}
  - {id: pii, title: PII handled, category: security, weight: 6, evidence: {ask: Is PII handled?}}
  - id: doc
    title: Documented
    category: documentation
    weight: 1
    evidence: {command: "test -s docs/{{ service }}.md", risk: read, timeout: 5s}
"""

ANSWERS = "pii: {answer: partial, note: masked in logs only}\ndoc: no\n"


@pytest.fixture
def health():
    """The model server's readiness endpoint; tests flip it between 200 and 503."""
    srv = HTTPTestServer({"/v2/health/ready": Reply(200, "")}).start()
    yield srv
    srv.stop()


@pytest.fixture
def workspace(tmp_path, health):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text("name: readiness-tests\ntimezone: UTC\nchecks: checks.yaml\n")
    (ws / "checks.yaml").write_text(
        "checks:\n"
        "  - id: fraud.ready\n"
        f"    url: {health.url}/v2/health/ready\n"
        "    service: fraud-scoring\n"
        "    slo: {availability: '99.9%'}\n"
    )
    (ws / "checklist.yaml").write_text(CHECKLIST)
    (ws / "answers.yaml").write_text(ANSWERS)
    return ws


@pytest.fixture
def session(workspace):
    from mlops_oncall.clock import FixedClock
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    s = Session(load_workspace(workspace / "oncall.yaml"), clock=FixedClock(NOW))
    yield s
    s.close()


def drill(session, scenario: str, *, days_ago: float, status: str = "finished") -> None:
    """A drill of a shipped scenario ``days_ago`` before the session's clock, recorded as the
    drill runner records one."""
    from mlops_oncall.drills.scenario import load_scenario

    sc, problems = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml")
    assert sc is not None, problems
    started = session.clock.now() - timedelta(days=days_ago)
    did = session.drills.begin(sc, mode="headless", speed=1.0, started_at=started)
    session.drills.finish(did, {"score": 1.0}, status=status)
