"""The shift hand-off on both backends, through the real CLI: one teammate records it, the next
one's note starts from it, and the chains still verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.checks.state import Transition
from mlops_oncall.store import checks_history
from mlops_oncall.store.db import open_store

pytestmark = pytest.mark.timeout(180)


def _crossings(url: str) -> None:
    """fraud.ready down now; ranker.health down, then back up (not failing)."""
    now = datetime.now(UTC)
    store = open_store(url)
    try:
        checks_history.record_transitions(
            store,
            [
                Transition("ranker.health", "up", "down", now - timedelta(hours=2), None,
                           "timeout", "timed out", {}, now - timedelta(hours=2)),
                Transition("ranker.health", "down", "up", now - timedelta(hours=1), None, None,
                           "", {}, None),
                Transition("fraud.ready", "up", "down", now - timedelta(minutes=30), None,
                           "http_status", "[STATUS] = 503", {}, now - timedelta(minutes=30)),
            ],
        )  # fmt: skip
    finally:
        store.close()


def test_a_recorded_handoff_is_where_the_next_shift_starts(database, cli_proc):
    assert cli_proc("incident", "declare", "--title", "ranker p99", "--severity", "SEV2").code == 0
    assert cli_proc("incident", "declare", "--title", "drift", "--severity", "SEV3").code == 0
    assert cli_proc("incident", "note", "INC-0001", "p99 at 2 s").code == 0
    _crossings(database)

    alice = {"MLOPS_ONCALL_ACTOR": "alice"}
    r = cli_proc("handoff", "--record", env=alice)
    assert r.code == 0, r.err
    assert "recorded the hand-off on 2 open incidents" in r.err
    assert "| INC-0001 | SEV2 | triage | ranker p99 |" in r.out
    assert "| fraud.ready | down |" in r.out and "ranker.health" not in r.out

    bob = {"MLOPS_ONCALL_ACTOR": "bob"}
    assert cli_proc("incident", "note", "INC-0002", "drift back under 0.1", env=bob).code == 0
    r = cli_proc("handoff", "--json", env=bob)
    assert r.code == 0, r.err
    j = r.json()
    assert j["since_source"] == "last hand-off"
    assert j["last_handoff"]["by"] == "alice"
    assert [(c["id"], c["notes"], c["events"]) for c in j["changes"]] == [("INC-0002", 1, 1)]
    assert [i["id"] for i in j["open_incidents"]] == ["INC-0001", "INC-0002"]
    assert [c["id"] for c in j["failing_checks"]] == ["fraud.ready"]
    for ref in ("INC-0001", "INC-0002"):  # a hand-off changes no state
        r = cli_proc("incident", "verify", ref)
        assert r.code == 0, r.out + r.err
