"""DORA figures by their published definitions (dora.dev), with hand-computed expected values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_oncall.incidents.deploys import Deploys, deploy_json
from mlops_oncall.incidents.service import BadInput, IncidentError

from .conftest import T0


def t(seconds: int):
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def deploys(store, clock):
    return Deploys(store, clock=clock, actor="ci")


def test_change_failure_rate_counts_every_deploy_that_needed_intervention(svc, clock, deploys):
    clock.set(t(3600))  # everything below is recorded after the fact, with --at
    d1 = deploys.record("fraud", "v1", "model", "succeeded", at=t(0))
    d2 = deploys.record("fraud", "v2", "model", "succeeded", at=t(60))
    inc = svc.declare("fraud p99", "SEV2", service="fraud", at=t(120)).id
    svc.ack(inc, at=t(200))
    svc.mitigate(inc, at=t(960))
    svc.resolve(inc, at=t(2000))
    # v2 "succeeded" but caused the incident: marked after the fact
    deploys.update(d2.id, incident=inc)
    deploys.record("feats", "c1", "config", "failed", at=t(1000))
    deploys.record("feats", "c2", "config", "succeeded", at=t(1300))
    d5 = deploys.record("fraud", "v3", "model", "succeeded", at=t(1400))
    deploys.update(d5.id, outcome="rolled_back", rolled_back_to="v2", at=t(1600))
    d6 = deploys.record("fraud", "v4", "model", "succeeded", at=t(1700))
    deploys.record("fraud", "v5", "model", "succeeded", at=t(1800), hotfix_of=d6.id)
    deploys.record("fraud", "v6", "model", "failed", at=t(1900))  # not recovered: left out
    dora = deploys.dora()
    # 8 deploys; v2 (incident), c1 (failed), v3 (rolled back), v4 (hot-fixed), v6 (failed)
    assert dora["deploys"] == 8
    assert dora["change_failures"] == 5
    assert dora["change_failure_rate"] == 5 / 8
    assert (dora["failed"], dora["rolled_back"]) == (2, 1)
    assert (dora["linked_to_incident"], dora["hotfixed"]) == (1, 1)
    items = {r["deploy"]: (r["seconds"], r["restored_by"]) for r in dora["recovery"]["items"]}
    assert items == {
        d2.id: (900.0, "incident_mitigated"),  # 60 -> mitigated at 960, not resolved at 2000
        d2.id + 1: (300.0, "next_deploy"),  # c1 at 1000 -> c2 at 1300
        d5.id: (200.0, "rolled_back"),  # v3 at 1400 -> rolled back at 1600
        d6.id: (100.0, "next_deploy"),  # v4 at 1700 -> its hotfix v5 at 1800
    }
    # nearest rank over [100, 200, 300, 900]
    assert dora["recovery"]["count"] == 4
    assert (dora["recovery"]["median"], dora["recovery"]["p90"]) == (200.0, 900.0)
    assert d1.outcome == "succeeded"


def test_an_unmitigated_incident_means_not_recovered(svc, clock, deploys):
    inc = svc.declare("bad", "SEV2", service="fraud").id
    d = deploys.record("fraud", "v2", "model", "failed", incident=inc)
    clock.advance(300)
    deploys.record("fraud", "v3", "model", "succeeded")  # the incident is still open
    dora = deploys.dora()
    assert dora["change_failure_rate"] == 1 / 2 and dora["recovery"]["items"] == []
    clock.advance(60)
    svc.ack(inc)
    svc.mitigate(inc)
    assert deploys.dora()["recovery"]["items"] == [
        {
            "deploy": d.id,
            "service": "fraud",
            "seconds": 360.0,
            "restored_by": "incident_mitigated",
        }
    ]


def test_a_rollback_is_recorded_on_the_version_rolled_back(svc, clock, deploys):
    inc = svc.declare("bad", "SEV2", service="fraud").id
    deploys.record("fraud", "v41", "model", "succeeded")
    clock.advance(60)
    v42 = deploys.record("fraud", "v42", "model", "succeeded")
    clock.advance(600)
    # naming the version rolled back *to* is refused, with the command that says it right
    with pytest.raises(IncidentError) as err:
        deploys.record("fraud", "v41", "model", "rolled_back", incident=inc)
    assert str(err.value) == (
        f"v41 is not the latest deploy of fraud (v42, deploy {v42.id}, is); a rollback is "
        f"recorded on the version rolled back: deploy update {v42.id} --outcome rolled_back "
        "--rolled-back-to v41"
    )
    # naming the bad version marks its deploy: one deploy, not two
    marked = deploys.record(
        "fraud", "v42", "model", "rolled_back", incident=inc, rolled_back_to="v41"
    )
    assert marked.id == v42.id and marked.at == v42.at
    assert (marked.outcome, deploy_json(marked)["incident"], marked.rolled_back_to) == (
        "rolled_back",
        inc,
        "v41",
    )
    assert marked.outcome_at == clock.now()
    rows = deploys.list()
    assert [(d.version, d.outcome) for d in rows] == [
        ("v42", "rolled_back"),
        ("v41", "succeeded"),
    ]
    assert deploys.dora()["change_failure_rate"] == 1 / 2


def test_update_errors(deploys, clock):
    d = deploys.record("fraud", "v1", "model", "succeeded")
    with pytest.raises(IncidentError, match=r"^unknown deploy '99' \(see deploy list\)$"):
        deploys.update(99, outcome="failed")
    with pytest.raises(IncidentError, match="unknown deploy '99999999999999999999999'"):
        deploys.update("99999999999999999999999", outcome="failed")
    with pytest.raises(BadInput, match=r"^nothing to update"):
        deploys.update(d.id)
    with pytest.raises(BadInput, match="--rolled-back-to goes with --outcome rolled_back"):
        deploys.update(d.id, outcome="failed", rolled_back_to="v0")
    with pytest.raises(IncidentError, match="unknown incident 'INC-0009'"):
        deploys.update(d.id, incident="INC-0009")
    with pytest.raises(IncidentError, match="is before deploy"):
        deploys.update(d.id, outcome="failed", at=clock.now() - timedelta(hours=1))
    other = deploys.record("feats", "c1", "config", "succeeded")
    with pytest.raises(IncidentError, match="a hotfix fixes a deploy of the same service"):
        deploys.record("fraud", "v2", "model", "succeeded", hotfix_of=other.id)
    assert deploys.get(d.id).outcome == "succeeded"  # nothing changed


def test_around_an_incident_are_its_linked_deploys_and_its_services_in_the_window(
    svc, clock, deploys
):
    clock.set(t(7200))
    before = deploys.record("fraud", "v1", "model", "succeeded", at=t(0))
    inside = deploys.record("fraud", "v2", "model", "succeeded", at=t(600))
    deploys.record("feats", "c1", "config", "succeeded", at=t(700))  # another service
    inc = svc.declare("p99", "SEV2", service="fraud", at=t(900)).id
    linked = deploys.record("other", "x9", "code", "failed", incident=inc, at=t(100))
    got = deploys.around(svc.get(inc).row.id, "fraud", t(300), t(1200))
    # oldest first: the linked deploy of another service, then the service's in the window
    assert [d.id for d in got] == [linked.id, inside.id]
    assert before.id not in [d.id for d in got]
    assert deploy_json(got[0])["incident"] == inc
    # without a service only the linked ones
    assert [d.id for d in deploys.around(svc.get(inc).row.id, None, t(0), t(7200))] == [linked.id]
