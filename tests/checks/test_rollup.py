"""Hourly roll-ups with fixed latency buckets, so weekly percentiles merge correctly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.rollup import BUCKETS_MS, HourRollup, Rollup, bucket_index

H0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def result(state="up", latency=12.0, at=H0, check_id="a") -> Result:
    return Result(check_id, state, None, "ok", latency, 200, [], at)


def test_bucket_edges_are_fixed_and_inclusive():
    assert BUCKETS_MS == (
        5,
        10,
        25,
        50,
        75,
        100,
        150,
        200,
        300,
        500,
        750,
        1000,
        1500,
        2000,
        3000,
        5000,
        10000,
    )
    assert bucket_index(0.3) == 0
    assert bucket_index(5) == 0
    assert bucket_index(5.1) == 1
    assert bucket_index(10000) == 16
    assert bucket_index(10000.1) == 17  # overflow


def test_counts_and_percentiles():
    h = HourRollup("a", H0)
    for latency in [3, 8, 8, 40, 40, 40, 90, 280, 600, None]:
        h.add(result("up" if latency and latency < 500 else "down", latency))
    h.add(result("degraded", 12))
    assert (h.polls, h.successes, h.degraded, h.down) == (11, 8, 1, 2)
    assert h.latency_counts[:11] == [1, 2, 1, 3, 0, 1, 0, 0, 1, 0, 1]
    assert sum(h.latency_counts) == 10  # the poll without a response has no latency
    assert h.percentile(50) == 50.0
    assert h.percentile(90) == 300.0
    assert h.percentile(100) == 750.0
    assert h.availability == 8 / 11


def test_merged_hours_give_the_week_percentile():
    a, b = HourRollup("a", H0), HourRollup("a", H0 + timedelta(hours=1))
    for _ in range(99):
        a.add(result(latency=20))
    b.add(result(latency=20_000))
    a.merge(b)
    assert a.polls == 100
    assert a.percentile(99) == 25.0
    assert a.percentile(100) == float("inf")
    assert a.to_json()["latency_counts"][-1] == 1


def test_rollup_keys_by_check_and_hour_and_drains_finished_hours():
    r = Rollup()
    r.add(result(at=H0 + timedelta(minutes=5)))
    r.add(result(at=H0 + timedelta(minutes=59, seconds=59)))
    r.add(result(at=H0 + timedelta(hours=1), check_id="b"))
    r.add(result(at=H0 + timedelta(hours=1, minutes=1)))
    assert r.get("a", H0 + timedelta(minutes=30)).polls == 2
    done = r.drain(now=H0 + timedelta(hours=1, minutes=10))
    assert [(h.check_id, h.hour, h.polls) for h in done] == [("a", H0, 2)]
    assert sorted((k[0], k[1].hour) for k in r.hours) == [("a", 11), ("b", 11)]
    assert len(r.drain()) == 2 and r.hours == {}
