"""The draft read from the timeline (fixed clock, both backends): the header lines, the
events since the last status update only, the current runbook step and open mitigations,
the next update's time; text from the store is quoted as it is (redacted when stored)."""

from __future__ import annotations

from datetime import timedelta

from mlops_oncall.runbooks.loader import load_runbook
from tests.conftest import FIXTURES
from tests.notify.conftest import T0

RB = load_runbook(FIXTURES / "malformed" / "unreachable_step.yaml").runbook


def test_the_draft(make, clock):
    s = make()
    inc = s.incidents.declare(
        "Fraud p99 over 2s", "SEV2", service="fraud-api", runbook=RB,
        impact_started_at=T0 - timedelta(minutes=20),
    ).id  # fmt: skip
    s.incidents.set_field(inc, "impact", "1 in 5 card payments scored late")
    clock.advance(timedelta(minutes=5))
    s.incidents.note(inc, "p99 back to 2.4s after the scale-up")
    s.incidents.step(inc, "what-changed", "done")
    s.incidents.action_add(inc, "scale fraud-api to 12 replicas", type="mitigate", owner="bob")
    s.incidents.action_add(inc, "alert on queue time", type="prevent", owner="bob")
    clock.advance(timedelta(minutes=5))
    text = s.notify.draft(inc)
    assert text == (
        "[SEV2] INC-0001: Fraud p99 over 2s\n"
        "Status: triage · Service: fraud-api\n"
        "Impact: 1 in 5 card payments scored late\n"
        "Started: 2026-11-28 02:40:00Z · Detected: 2026-11-28 03:00:00Z\n"
        "\n"
        "What happened so far:\n"
        "- 2026-11-28 03:00:00Z INC-0001 declared: Fraud p99 over 2s\n"
        "- 2026-11-28 03:00:00Z runbook latency: Latency spike\n"
        "- 2026-11-28 03:00:00Z impact: 1 in 5 card payments scored late\n"
        "- 2026-11-28 03:05:00Z note: p99 back to 2.4s after the scale-up\n"
        "- 2026-11-28 03:05:00Z runbook step done: What changed?\n"
        "- 2026-11-28 03:05:00Z action 1 (mitigate, bob): scale fraud-api to 12 replicas\n"
        "- 2026-11-28 03:05:00Z action 2 (prevent, bob): alert on queue time\n"
        "\n"
        "What we are doing:\n"
        "- runbook latency, step 2 of 6: Was there a rollout?\n"
        "- scale fraud-api to 12 replicas (bob)\n"
        "\n"
        "Next update by 2026-11-28 04:10:00Z.\n"
    )
    s.notify.post(inc, "first update", None)
    clock.advance(timedelta(minutes=1))
    s.incidents.note(inc, "queue drained")
    later = s.notify.draft(inc)
    assert (
        "Since the last update (2026-11-28 03:10:00Z):\n"
        "- 2026-11-28 03:11:00Z note: queue drained\n"
        "\nWhat we are doing:"
    ) in later
    assert "scale-up" not in later
