"""Check transitions and hourly roll-ups persist; roll-ups of one hour merge by adding."""

from __future__ import annotations

from datetime import timedelta

from mlops_oncall.checks.rollup import BUCKETS_MS, HourRollup
from mlops_oncall.checks.state import Transition
from mlops_oncall.store import checks_history as ch
from mlops_oncall.store.models import CheckRollup, CheckTransition

from .conftest import T0


def _tr(check, frm, to, minutes, **kw):
    return Transition(
        check_id=check,
        from_state=frm,
        to_state=to,
        at=T0 + timedelta(minutes=minutes),
        previous_since=T0,
        error_class=kw.get("error_class"),
        message=kw.get("message", ""),
        observed=kw.get("observed", {}),
        first_failure_at=kw.get("first"),
        blocked_by=kw.get("blocked", ()),
        service="fraud-scoring",
    )


def test_transitions_round_trip(store):
    n = ch.record_transitions(
        store,
        [
            _tr(
                "fraud.ready",
                "up",
                "degraded",
                1,
                error_class="condition",
                message="[RESPONSE_TIME] = 420, expected < 200",
                observed={"[RESPONSE_TIME]": 420},
                first=T0,
            ),
            _tr("fraud.ready", "degraded", "down", 2, error_class="timeout"),
            _tr("feature-store.health", "up", "down", 3, blocked=("fraud.ready",)),
        ],
    )
    assert n == 3
    got = ch.transitions(store, check_id="fraud.ready")
    assert [(t.from_state, t.to_state) for t in got] == [
        ("up", "degraded"),
        ("degraded", "down"),
    ]
    assert got[0].observed == {"[RESPONSE_TIME]": 420}
    assert got[0].first_failure_at == T0 and got[0].at.utcoffset() == timedelta(0)
    later = ch.transitions(store, since=T0 + timedelta(minutes=3))
    assert [t.check_id for t in later] == ["feature-store.health"]
    assert later[0].blocked_by == ["fraud.ready"]
    assert all(isinstance(t, CheckTransition) for t in got + later)
    # the stored JSON is the text it always was: keys sorted, read by any SQL client
    with store.read() as conn:
        stored = conn.exec_driver_sql(
            "SELECT observed, blocked_by FROM check_transition ORDER BY id"
        ).all()
    assert stored == [('{"[RESPONSE_TIME]": 420}', "[]"), ("{}", "[]"), ("{}", '["fraud.ready"]')]


def test_rollups_merge_per_hour(store):
    def hour(polls, ok, lat_bucket):
        h = HourRollup("fraud.ready", T0)
        h.polls, h.successes, h.latency_sum_ms = polls, ok, 100.0 * polls
        h.latency_counts[lat_bucket] = polls
        return h

    ch.merge_rollups(store, [hour(10, 9, 3)])
    ch.merge_rollups(store, [hour(5, 5, 5), HourRollup("fraud.ready", T0 + timedelta(hours=1))])
    rows = ch.rollups(store, check_id="fraud.ready")
    assert [(r.polls, r.successes) for r in rows] == [(15, 14), (0, 0)]
    assert rows[0].latency_sum_ms == 1500.0
    assert rows[0].latency_counts[3] == 10 and rows[0].latency_counts[5] == 5
    assert len(rows[0].latency_counts) == len(BUCKETS_MS) + 1
    assert isinstance(rows[0], CheckRollup)
    assert ch.rollups(store, since=T0 + timedelta(minutes=30))[0].hour == T0 + timedelta(hours=1)
