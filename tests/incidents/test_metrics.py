"""Window metrics (nearest-rank percentiles, drills excluded) and DORA figures from deploys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_oncall.incidents.deploys import Deploys
from mlops_oncall.incidents.metrics import nearest_rank, window_metrics
from mlops_oncall.incidents.service import BadInput, IncidentError

from .conftest import T0


def test_nearest_rank():
    vals = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert nearest_rank(vals, 50) == 5.0
    assert nearest_rank(vals, 90) == 9.0
    assert nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([], 50) is None


def test_window_metrics_exclude_drills_and_missing_ends(svc, clock, store):
    # three real incidents with TTA 60, 120, 600 s; one never acknowledged; one drill
    for tta in (60, 120, 600):
        ref = svc.declare(
            f"tta {tta}", "SEV2", impact_started_at=clock.now() - timedelta(seconds=30)
        ).id
        clock.advance(tta)
        svc.ack(ref)
        clock.advance(100)
        svc.resolve(ref)
        clock.advance(3600)
    svc.declare("never acked", "SEV1")
    drill = svc.declare("drill", "SEV1", drill=True).id
    clock.advance(5)
    svc.ack(drill)
    with store.read() as conn:
        m = window_metrics(conn)
    assert m["incidents"] == 4
    assert m["by_severity"] == {"SEV1": 1, "SEV2": 3, "SEV3": 0, "SEV4": 0}
    assert m["tta"] == {"count": 3, "median": 120.0, "p90": 600.0}
    assert m["ttr"] == {"count": 3, "median": 220.0, "p90": 700.0}
    assert m["ttd"] == {"count": 3, "median": 30.0, "p90": 30.0}
    # the outage: 30 s before detection to the mitigation (resolving set it): TTR + 30
    assert m["duration"] == {"count": 3, "median": 250.0, "p90": 730.0}
    with store.read() as conn:
        early = window_metrics(conn, until=T0 + timedelta(seconds=1))
    assert early["incidents"] == 1


def test_change_failure_rate_and_recovery(svc, clock, store):
    d = Deploys(store, clock=clock, actor="ci")
    inc = svc.declare("bad model", "SEV2", service="fraud").id
    d.record("fraud", "v1", "model", "succeeded")
    clock.advance(60)
    d.record("fraud", "v2", "model", "rolled_back", incident=inc)
    clock.advance(600)
    svc.ack(inc)
    svc.resolve(inc)  # 600 s after the bad deploy
    d.record("feats", "c1", "config", "failed")
    clock.advance(300)
    d.record("feats", "c2", "config", "succeeded")  # recovers the failed config push after 300 s
    d.record("fraud", "v3", "code", "failed")  # not recovered yet: left out
    dora = d.dora()
    assert dora["deploys"] == 5
    assert (dora["failed"], dora["rolled_back"]) == (2, 1)
    assert dora["change_failure_rate"] == pytest.approx(3 / 5)
    assert [r["seconds"] for r in dora["recovery"]["items"]] == [300.0, 600.0]
    assert dora["recovery"]["count"] == 2 and dora["recovery"]["median"] == 300.0
    recent = d.dora(since=clock.now() - timedelta(seconds=1))
    assert (recent["deploys"], recent["change_failure_rate"]) == (2, 0.5)


def test_empty_window(store, clock):
    assert Deploys(store, clock=clock).dora()["change_failure_rate"] is None
    with store.read() as conn:
        m = window_metrics(conn)
    assert m["incidents"] == 0 and m["ttr"] == {"count": 0, "median": None, "p90": None}


def test_deploy_errors(store, clock):
    d = Deploys(store, clock=clock)
    with pytest.raises(
        BadInput, match="unknown outcome 'ok'; expected one of succeeded, failed, rolled_back"
    ):
        d.record("s", "v", "model", "ok")
    with pytest.raises(IncidentError, match="unknown incident 'INC-0009'"):
        d.record("s", "v", "model", "failed", incident="INC-0009")
    with pytest.raises(IncidentError, match="is in the future"):
        d.record("s", "v", "model", "failed", at=clock.now() + timedelta(hours=1))


def test_duration_is_the_outage_and_differs_from_ttr_for_a_stated_reason(svc, clock):
    from mlops_oncall.incidents.metrics import duration, duration_vs_ttr

    a = svc.declare("a", "SEV2", impact_started_at=T0 - timedelta(seconds=210)).id
    clock.advance(60)
    svc.ack(a)
    clock.advance(1740)
    svc.mitigate(a)  # 1800 s after detection
    clock.advance(1800)
    svc.resolve(a)  # 3600 s after detection
    row = svc.get(a).row
    assert duration(row) == 2010.0  # impact start -> mitigation
    assert svc.get(a).to_json()["metrics"] == {
        "ttd": 210.0,
        "tta": 60.0,
        "ttm": 1800.0,
        "ttr": 3600.0,
        "duration": 2010.0,
    }
    assert duration_vs_ttr(row) == {
        "duration": 2010.0,
        "ttr": 3600.0,
        "before_detection": 210.0,
        "after_mitigation": 1800.0,
    }
    # without an impact start, the outage runs from detection; resolved at once: they agree
    b = svc.declare("b", "SEV3").id
    clock.advance(600)
    svc.ack(b)
    svc.resolve(b)  # resolving sets mitigated too
    row = svc.get(b).row
    assert duration(row) == 600.0 and duration_vs_ttr(row) is None
