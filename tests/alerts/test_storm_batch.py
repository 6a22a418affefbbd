"""A notification of many alerts as an alert storm sends it (bench/bench_alert_storm.py), on
SQLite and PostgreSQL: its new alerts are inserted in one batch, its repeats only seen again,
its resolved ones resolved, an alert listed twice counted once, and every new firing is one
event on the declared incident's chain, which verifies."""

from __future__ import annotations

from datetime import timedelta

from mlops_oncall.clock import FixedClock
from tests.alerts.conftest import T0, alert, payload, resolved

DECLARE = {"routes": [{"name": "all", "declare": True}]}


def _fp(i: int) -> str:
    return f"{i:016x}"


def test_a_twenty_alert_notification_with_repeats_resolves_and_a_duplicate(make, clock):
    s = make(DECLARE)
    first = [alert(_fp(i), labels={"pod": f"p{i}"}) for i in range(12)]
    got = s.alerts.receive(payload(*first))
    assert (got.incident, got.fired, got.resolved) == ("INC-0001", [_fp(i) for i in range(12)], [])

    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=1))
    new = [alert(_fp(i), labels={"pod": f"p{i}"}) for i in range(12, 20)]
    repeats = first[4:12]
    gone = [resolved(a) for a in first[:4]]
    listed_twice = new[0]
    got = s.alerts.receive(payload(*gone, *repeats, *new, listed_twice))
    assert got.fired == [_fp(i) for i in range(12, 20)]
    assert sorted(got.resolved) == [_fp(i) for i in range(4)]

    fired = [e.data["fingerprint"] for e in s.incidents.events("INC-0001")
             if e.kind == "alert_fired"]  # fmt: skip
    assert fired == [_fp(i) for i in range(20)]  # one event per fingerprint, in order
    (done,) = [e for e in s.incidents.events("INC-0001") if e.kind == "alerts_resolved"]
    assert (sorted(done.data["fingerprints"]), done.data["still_firing"]) == (
        [_fp(i) for i in range(4)],
        16,
    )
    view = s.alerts.get(got.group)
    by_fp = {a["fingerprint"]: a for a in view.alerts}
    assert len(view.alerts) == 20
    later = T0 + timedelta(minutes=1)
    assert {by_fp[_fp(i)]["last_seen"] for i in range(4, 12)} == {later}  # seen again
    assert {by_fp[_fp(i)]["first_seen"] for i in range(4, 12)} == {T0}
    assert {by_fp[_fp(i)]["status"] for i in range(4)} == {"resolved"}
    assert s.incidents.verify("INC-0001").ok

    # the same notification again adds nothing
    again = s.alerts.receive(payload(*gone, *repeats, *new))
    assert (again.fired, again.resolved) == ([], [])
    assert len(s.alerts.get(got.group).alerts) == 20


def test_brief_groups_carry_what_the_inbox_line_reads(make):
    """groups(brief=True), the dashboard's inbox line after every delivery: each alert's name
    and status only, so the same titles and firing counts without decoding labels."""
    s = make({"declare": False})
    s.alerts.receive(payload(alert(_fp(1)), alert(_fp(2), "GPUMemoryPressure")))
    s.alerts.receive(payload(resolved(alert(_fp(1))), alert(_fp(2), "GPUMemoryPressure")))
    full, brief = s.alerts.groups(), s.alerts.groups(brief=True)
    assert [(g.id, g.state, g.title, len(g.firing)) for g in brief] == [
        (g.id, g.state, g.title, len(g.firing)) for g in full
    ]
    assert [len(g.firing) for g in brief] == [1]
    assert set(brief[0].alerts[0]) == {"group_id", "alertname", "status"}
