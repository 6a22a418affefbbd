"""The triage stepper: flow rules, branches, redo, and errors, derived from the timeline."""

from __future__ import annotations

import pytest

from mlops_oncall.incidents.service import IncidentError
from mlops_oncall.runbooks.loader import load_runbook
from tests.conftest import FIXTURES

RB = load_runbook(FIXTURES / "malformed" / "unreachable_step.yaml").runbook  # 6 steps, one decide


@pytest.fixture
def ref(svc):
    return svc.declare("p99", "SEV2", runbook=RB).id


def test_attach_starts_at_the_first_step(svc, ref):
    st = svc.triage(ref)
    assert st.current == "what-changed" and st.position() == (1, 6)
    assert svc.events(ref)[-1].kind == "runbook_attached"


def test_branch_yes_goes_to_rollback_then_verify(svc, ref):
    svc.step(ref, "what-changed", "done", note="v42 at 01:50")
    st = svc.decide(ref, "rolled-out", "yes")
    assert st.current == "rollback"
    st = svc.step(ref, "rollback", "done")
    assert st.current == "verify"  # `next` jumps over scale-out
    st = svc.step(ref, "verify", "done")
    assert st.complete and st.position() == (0, 6)
    assert st.path == ["what-changed", "rolled-out", "rollback", "verify"]
    # derived again from the timeline alone, in a fresh read
    again = svc.triage(ref)
    assert again.complete and {s: o.outcome for s, o in again.outcomes.items()} == {
        "what-changed": "done",
        "rolled-out": "decided",
        "rollback": "done",
        "verify": "done",
    }
    assert again.outcomes["rolled-out"].choice == "Yes"
    assert again.outcomes["what-changed"].note == "v42 at 01:50"


def test_branch_no_by_number_and_by_target(svc, ref):
    svc.step(ref, "what-changed", "skipped")
    assert svc.decide(ref, "rolled-out", "2").current == "scale-out"
    # changing the decision rewinds to it
    assert svc.decide(ref, "rolled-out", "rollback").current == "rollback"


def test_failed_stays_on_the_step(svc, ref):
    svc.step(ref, "what-changed", "done")
    svc.decide(ref, "rolled-out", "Yes")
    st = svc.step(ref, "rollback", "failed", note="undo timed out")
    assert st.current == "rollback"
    assert svc.step(ref, "rollback", "done").current == "verify"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            ("step", "rollback", "done"),
            "cannot mark done step 'rollback' now: the current step is 'what-changed'",
        ),
        (
            ("step", "rollbak", "done"),
            "runbook 'latency' has no step 'rollbak' (did you mean 'rollback'?)",
        ),
        (
            ("decide", "what-changed", "Yes"),
            "'what-changed' is a diagnose step, not a decision; mark it done, skipped or failed",
        ),
    ],
)
def test_steps_the_runbook_does_not_allow_now(svc, ref, action, message):
    with pytest.raises(IncidentError) as err:
        if action[0] == "step":
            svc.step(ref, action[1], action[2])
        else:
            svc.decide(ref, action[1], action[2])
    assert str(err.value) == message


def test_decide_errors(svc, ref):
    svc.step(ref, "what-changed", "done")
    with pytest.raises(IncidentError) as err:
        svc.step(ref, "rolled-out", "done")
    assert (
        str(err.value)
        == "'rolled-out' is a decide step; record the decision instead (choices: Yes, No)"
    )
    with pytest.raises(IncidentError) as err:
        svc.decide(ref, "rolled-out", "Maybe")
    assert str(err.value) == "'Maybe' is not a choice of 'rolled-out'; choices: Yes, No"


def test_complete_runbook_refuses_more(svc, ref):
    svc.step(ref, "what-changed", "done")
    svc.decide(ref, "rolled-out", "No")
    svc.step(ref, "scale-out", "done")
    svc.step(ref, "verify", "done")
    with pytest.raises(IncidentError) as err:
        svc.step(ref, "orphan", "done")
    assert str(err.value) == "cannot mark done step 'orphan' now: the runbook 'latency' is complete"


def test_no_runbook_attached(svc):
    r = svc.declare("x", "SEV3").id
    with pytest.raises(IncidentError) as err:
        svc.step(r, "a", "done")
    assert (
        str(err.value)
        == "INC-0001 has no runbook attached; attach one with `incident attach INC-0001 RUNBOOK`"
    )


def test_reattach_starts_over_with_the_new_runbook(svc, ref):
    svc.step(ref, "what-changed", "done")
    other = RB.model_copy(update={"id": "latency-v2"})
    svc.attach(ref, other)
    st = svc.triage(ref)
    assert st.runbook.id == "latency-v2" and st.current == "what-changed" and st.outcomes == {}


def test_snapshot_is_frozen_at_attach(svc, ref, store):
    with store.read() as conn:
        version = conn.exec_driver_sql("SELECT version FROM triage_runbook").scalar()
    assert svc.triage(ref).version == version and len(version) == 12
