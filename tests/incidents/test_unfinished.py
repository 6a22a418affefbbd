"""What is unfinished before mitigating or resolving: a runbook stopped before its last step, a
failing check of the service (or the one it was declared from), open action items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.incidents.unfinished import CheckState, despite_note
from mlops_oncall.runbooks.library import Library
from mlops_oncall.store.checks_history import record_transitions
from mlops_oncall.store.db import open_store
from mlops_oncall.ui.gallery.workspace import RUNBOOKS

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def svc(backend_url):
    store = open_store(backend_url)
    yield Incidents(store, clock=FixedClock(T0), actor="alice")
    store.close()


def _runbook():
    lib = Library.load([RUNBOOKS], today=T0.date())
    return lib.get("fraud-latency").runbook


def test_nothing_unfinished(svc):
    inc = svc.declare("x", "SEV3", service="fraud-scoring").id
    assert svc.unfinished(inc, {"fraud.ready": CheckState("up", "fraud-scoring")}) == []


def test_each_kind_is_listed(svc):
    inc = svc.declare(
        "x", "SEV2", service="fraud-scoring", runbook=_runbook(), declared_from_check="origin"
    ).id
    svc.step(inc, "what-changed", "done")
    svc.action_add(inc, "Gate promotion", type="prevent", owner="ml-platform")
    done = svc.action_add(inc, "Roll back", type="mitigate", owner="bob")
    svc.action_done(inc, done.number)
    checks = {
        "fraud.ready": CheckState("down", "fraud-scoring"),
        "fraud.model-ready": CheckState("degraded", "fraud-scoring", ("fraud.ready",)),
        "fraud.live": CheckState("up", "fraud-scoring"),
        "gpu.memory": CheckState("down", "gpu-inference"),  # another service
        "origin": CheckState("down", None),  # the check it was declared from
    }
    items = svc.unfinished(inc, checks)
    assert [i.kind for i in items] == ["runbook", "check", "check", "check", "action_item"]
    texts = [i.text for i in items]
    assert texts[0].startswith("runbook fraud-latency stopped at step 2 of ")
    assert texts[1:4] == [
        "check fraud.model-ready is degraded (blocked by fraud.ready)",
        "check fraud.ready is down",
        "check origin is down",
    ]
    assert texts[4] == "action item 1 open (prevent, ml-platform): Gate promotion"
    assert despite_note(items[2:4]) == (
        "proceeded despite: check fraud.ready is down; check origin is down"
    )


def test_without_live_states_the_recorded_crossings_count(svc):
    inc = svc.declare("x", "SEV3", service="fraud-scoring").id

    def crossing(check, to, minutes):
        return SimpleNamespace(
            check_id=check, service="fraud-scoring", from_state="up", to_state=to,
            at=T0 + timedelta(minutes=minutes), previous_since=None, first_failure_at=None,
            error_class=None, message="", observed={}, blocked_by=(),
        )  # fmt: skip

    record_transitions(
        svc.store, [crossing("fraud.ready", "down", 1), crossing("fraud.live", "down", 1)]
    )
    record_transitions(svc.store, [crossing("fraud.live", "up", 2)])
    assert [i.text for i in svc.unfinished(inc)] == ["check fraud.ready is down"]
