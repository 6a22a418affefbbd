"""The postmortem timeline: how each event kind reads, folding, de-duplication, day groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.checks.state import Transition
from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.reports import timeline as tlm
from mlops_oncall.store import checks_history
from mlops_oncall.store.db import open_store
from mlops_oncall.store.models import CheckTransition

T0 = datetime(2026, 11, 28, 23, 50, tzinfo=UTC)


@pytest.fixture
def setup(backend_url):
    store = open_store(backend_url)
    clock = FixedClock(T0)
    svc = Incidents(store, clock=clock, actor="alice")
    yield store, clock, svc
    store.close()


def _lines(svc, ref, transitions=(), flap_min=tlm.FLAP_MIN):
    ctx = tlm.build(svc.get(ref), svc.events(ref), list(transitions), flap_min=flap_min)
    return ctx, [
        (d["date"], e["time"], e["marker"], e["text"]) for d in ctx["days"] for e in d["entries"]
    ]


def _tr(check, frm, to, at):
    return CheckTransition(check_id=check, from_state=frm, to_state=to, at=at, message="")


def test_each_event_kind_reads_as_one_line(setup):
    _store, clock, svc = setup
    inc = svc.declare("drift", "SEV3", service="dq").id
    clock.advance(60)
    svc.record(inc, "alert", "fired for 5m", {"name": "DriftHigh"})
    svc.record(inc, "inject", "the feature store starts timing out")
    svc.record(inc, "check_run", "", {"check": "dq.drift", "state": "down", "latency_ms": 41.6})
    svc.record(
        inc, "command_run", "psql -c 'select 1'\nsecret output", {"command": "psql -c 'select 1'"}
    )
    svc.set_field(inc, "summary", "not part of the incident's story")
    svc.milestone(inc, "detected", T0 - timedelta(minutes=5))
    _ctx, lines = _lines(svc, inc)
    texts = [t for *_, t in lines]
    assert texts == [
        "detected (manual); the impact start is unknown, so the outage is counted from here",
        "INC-0001 declared: drift (SEV3)",
        "alert `DriftHigh`: fired for 5m",
        "drill inject: the feature store starts timing out",
        "ran check `dq.drift`: down (42 ms)",
        "ran `psql -c 'select 1'` → exit code not recorded",
        "detected corrected to 2026-11-28T23:45:00Z (was 2026-11-28T23:50:00Z)",
    ]
    # the corrected detection moved OUTAGE BEGINS to 23:45
    assert lines[0][1:3] == ("23:45:00", "OUTAGE BEGINS")


def test_a_crossing_on_the_timeline_and_in_the_history_shows_once(setup):
    _store, clock, svc = setup
    inc = svc.declare("p99", "SEV2", service="fraud").id
    at = T0 + timedelta(minutes=2)
    clock.set(at + timedelta(seconds=1))
    svc.record(
        inc,
        "check_transition",
        "fraud.ready up → down",
        {"check": "fraud.ready", "from": "up", "to": "down", "at": at.isoformat()},
    )
    _ctx, lines = _lines(svc, inc, [_tr("fraud.ready", "up", "down", at)])
    assert [t for *_, t in lines if "fraud.ready" in t] == ["check `fraud.ready` up → down"]


def test_flapping_is_folded_per_check_and_per_day(setup):
    _store, _clock, svc = setup
    inc = svc.declare("flaps", "SEV2").id
    states = ["down", "up"] * 4  # 8 crossings: 23:52 .. 00:06, three each side of midnight
    flaps = [
        _tr("a", "up" if s == "down" else "down", s, T0 + timedelta(minutes=2 + 2 * k))
        for k, s in enumerate(states)
    ]
    quiet = [_tr("b", "up", "down", T0 + timedelta(minutes=3))]
    ctx, lines = _lines(svc, inc, flaps + quiet, flap_min=3)
    a_lines = [(d, t, text) for d, t, _m, text in lines if "`a`" in text]
    assert a_lines == [
        ("2026-11-28", "23:52:00", "check `a` up → down"),
        ("2026-11-28", "23:54:00", "check `a` flapped 3 more times until 23:58:00 (1× → down, 2× → up); last state up"),
        ("2026-11-29", "00:00:00", "check `a` up → down"),
        ("2026-11-29", "00:02:00", "check `a` flapped 3 more times until 00:06:00 (1× → down, 2× → up); last state up"),
    ]  # fmt: skip
    assert [text for *_, text in lines if "`b`" in text] == ["check `b` up → down"]  # 1 < 3
    assert ctx["multi_day"] is True and ctx["folded"] == 6


def test_below_the_threshold_nothing_is_folded(setup):
    _store, _clock, svc = setup
    inc = svc.declare("few", "SEV4").id
    flaps = [
        _tr("a", "up", "down", T0 + timedelta(minutes=1)),
        _tr("a", "down", "up", T0 + timedelta(minutes=2)),
    ]
    ctx, lines = _lines(svc, inc, flaps)
    assert ctx["folded"] == 0 and sum("`a`" in t for *_, t in lines) == 2


def test_transitions_from_the_store_feed_the_postmortem(setup):
    from mlops_oncall.reports.postmortem import build_context

    from .conftest import postmortem_inputs

    store, clock, svc = setup
    svc.declare("p99", "SEV2", service="fraud", declared_from_check="fraud.ready")
    checks_history.record_transitions(
        store,
        [
            Transition("fraud.ready", "up", "down", T0 - timedelta(minutes=10), None, "timeout", "t/o", {}, T0 - timedelta(minutes=11)),
            Transition("other.check", "up", "down", T0, None, None, "", {}, None, service="elsewhere"),
        ],
    )  # fmt: skip
    clock.advance(600)
    ctx = build_context(1, **postmortem_inputs(store, clock))
    texts = [e["text"] for d in ctx["timeline"]["days"] for e in d["entries"]]
    assert "check `fraud.ready` up → down: t/o" in texts
    assert not any("other.check" in t for t in texts)  # not this incident's check or service
    [check] = ctx["supporting"]["checks"]
    assert (check["id"], check["transitions"], check["first_failure"]) == (
        "fraud.ready",
        1,
        "2026-11-28 23:39:00 UTC",
    )
    # down from before the outage began (detection, 23:50) until now (00:00): 10 minutes
    assert check["down_seconds"] == 600.0 and check["last_state"] == "down"
