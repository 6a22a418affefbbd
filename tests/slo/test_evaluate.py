"""SLOs evaluated at a time: the same figures from a history in memory and from the store's
roll-ups (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.rollup import Rollup
from mlops_oncall.slo.config import Slo
from mlops_oncall.slo.evaluate import evaluate
from mlops_oncall.slo.history import MemorySource
from mlops_oncall.slo.records import StoreSource
from mlops_oncall.store import checks_history as ch
from mlops_oncall.store.db import open_store

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SLO = Slo("predict", ("a",), Decimal("99.9"), timedelta(days=30), "30d", min_bad_events=1)


def month(bad_minutes: set[int], *, days: float = 30, check: str = "a"):
    """One poll a minute at :30 for ``days`` before AT; minute n (0 = the oldest) is down
    when n is in ``bad_minutes``."""
    n = int(days * 1440)
    start = AT - timedelta(minutes=n)
    return [
        (check, start + timedelta(minutes=i, seconds=30), "down" if i in bad_minutes else "up")
        for i in range(n)
    ]


def test_43200_polls_10_bad_at_999_leave_76_9_percent():
    polls = month(set(range(100, 1000, 90)))  # 10 bad, long ago
    (s,) = evaluate([SLO], MemorySource.from_polls(polls), AT)
    got = s.to_json()
    assert (got["total"], got["bad"], got["budget_remaining"]) == (43_200, 10, 76.85)
    assert got["state"] == "ok" and got["firing"] == []
    assert [r["state"] for r in got["burn_rates"]] == ["ok"] * 4
    assert got["burn_rate"] == 0.0 and got["time_to_exhaustion"] is None


def test_zero_traffic_is_no_data():
    (s,) = evaluate([SLO], MemorySource.from_polls([]), AT)
    got = s.to_json()
    assert got["state"] == "no data" and got["budget_remaining"] is None
    assert [r["state"] for r in got["burn_rates"]] == ["insufficient history"] * 4
    # history, but none of it in the last hour: that row says no data
    polls = [p for p in month(set(), days=4) if p[1] < AT - timedelta(hours=1)]
    (s,) = evaluate([SLO], MemorySource.from_polls(polls), AT)
    rows = {r["long"]: r for r in s.to_json()["burn_rates"]}
    assert rows["1h"]["state"] == "no data" and rows["1h"]["long_rate"] is None
    assert rows["6h"]["state"] == "no data"  # its 30m short window is empty
    assert rows["1d"]["state"] == "ok"


def test_less_history_than_a_window_is_insufficient_history():
    (s,) = evaluate([SLO], MemorySource.from_polls(month(set(), days=2)), AT)
    got = s.to_json()
    assert got["state"] == "insufficient history"
    assert got["history_from"] == "2026-11-26T12:00:00Z"
    assert [r["state"] for r in got["burn_rates"]] == ["ok", "ok", "ok", "insufficient history"]


def test_a_burst_fires_the_fast_page_only_and_time_to_exhaustion_follows_the_hour():
    n = 4 * 1440
    (s,) = evaluate([SLO], MemorySource.from_polls(month({n - 2, n - 1}, days=4)), AT)
    got = s.to_json()
    assert got["firing"] == [{"long": "1h", "short": "5m", "severity": "page"}]
    rates = [(r["long_rate"], r["short_rate"]) for r in got["burn_rates"]]
    # 2 bad in 60, 5, 360, 30, 1440, 120, 4320, 360 polls, over a 0.1% budget
    assert rates == [(33.3333, 400.0), (5.5556, 66.6667), (1.3889, 16.6667), (0.463, 5.5556)]
    assert [r["state"] for r in got["burn_rates"]] == ["firing", "ok", "ok", "ok"]
    remaining = 1 - 2 / 5.76  # 2 of 5,760 polls (4 days), 0.1% budget
    assert got["budget_remaining"] == round(remaining * 100, 2)
    # at the last hour's 33.3x, the rest lasts remaining x 30d / 33.3
    assert got["time_to_exhaustion"] == round(remaining * 30 * 86400 / (2 / 60 / 0.001))
    # six bad minutes overspend the four days' budget: nothing left, no time left
    (s,) = evaluate([SLO], MemorySource.from_polls(month(set(range(n - 6, n)), days=4)), AT)
    assert s.to_json()["time_to_exhaustion"] == 0 and s.remaining < 0
    assert len(s.firing) == 4


def test_min_bad_events_holds_back_a_page():
    n = 4 * 1440
    slo = Slo("predict", ("a",), Decimal("99.9"), timedelta(days=30), "30d", min_bad_events=3)
    polls = month({n - 2, n - 1}, days=4)
    (s,) = evaluate([slo], MemorySource.from_polls(polls), AT)
    assert s.rows[0].state == "too few bad events" and s.firing == []


def _store_from(store, polls):
    """Write polls as the monitor does: hourly and minute roll-ups (minutes pruned)."""
    r = Rollup()
    for check, at, state in polls:
        r.add(Result(check, state, None, "", 40.0, 200, [], at))
    ch.merge_rollups(store, r.drain(None))
    ch.merge_minutes(store, r.drain_minutes(), now=AT)


@pytest.fixture
def store(backend_url):
    s = open_store(backend_url)
    yield s
    s.close()


@pytest.mark.parametrize(
    "at_offset", [timedelta(0), timedelta(seconds=-20), timedelta(minutes=-17, seconds=-10)]
)
def test_the_store_and_a_history_in_memory_agree(store, at_offset):
    n = 30 * 1440
    bad = set(range(100, 1000, 90)) | set(range(n - 200, n, 7)) | {n - 3, n - 2}
    polls = month(bad) + [
        ("b", at, "degraded" if i % 50 == 0 else "up")
        for i, (_, at, _) in enumerate(month(set(), days=3))
    ]
    _store_from(store, polls)
    slos = [
        SLO,
        Slo("both", ("a", "b"), Decimal("99.5"), timedelta(days=28), "28d", count_degraded=True),
    ]
    at = AT + at_offset
    mem = [
        s.to_json()
        for s in evaluate(slos, MemorySource.from_polls(p for p in polls if p[1] <= at), at)
    ]
    db = [s.to_json() for s in evaluate(slos, StoreSource(store), at)]
    assert db == mem
    assert len(mem[0]["firing"]) == 4 and mem[1]["state"] == "ok"


def test_budget_consumed_between_two_times(store):
    from mlops_oncall.clock import FixedClock
    from mlops_oncall.slo.config import SloSet
    from mlops_oncall.slo.service import Slos

    n = 30 * 1440
    recent = set(range(n - 100, n - 90))  # 10 bad, 100 minutes ago
    old = set(range(n - 10 * 1440, n - 10 * 1440 + 5))  # 5 bad, ten days ago
    _store_from(store, month(recent | old))
    svc = Slos(lambda: store, FixedClock(AT), SloSet("slos.yaml", {"predict": SLO}))
    start = AT - timedelta(minutes=100)
    got = svc.consumed("predict", start, start + timedelta(minutes=20))
    # 10 bad against the 43.2 the 43,200 polls of the window ending then allow
    assert (got.bad, got.window_total) == (10, 43_200 - 80)
    assert got.share == pytest.approx(10 / (0.001 * (43_200 - 80)))
    assert got.needs_postmortem  # more than 20% of the budget in one incident
    # ten days ago the minutes are pruned: whole hours from the start's hour
    t = AT - timedelta(days=10)
    old_got = svc.consumed("predict", t, t + timedelta(minutes=30))
    assert old_got.bad == 5 and not old_got.needs_postmortem
