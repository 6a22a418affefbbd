"""The budget arithmetic on fixed counts: exact figures, no data, overspending."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_oncall.slo import arithmetic as ar
from mlops_oncall.slo.arithmetic import Counts

B999 = 0.001  # the budget of 99.9% (Slo.budget computes it exactly from the percentage)


def test_the_issue_figure_43200_polls_10_bad_at_999_leave_76_9_percent():
    remaining = ar.budget_remaining(10, 43_200, B999)
    assert round(remaining * 100, 1) == 76.9
    assert remaining == pytest.approx(1 - 10 / 43.2)


def test_no_polls_is_no_data_never_nan_or_good():
    assert ar.error_ratio(0, 0) is None
    assert ar.burn_rate(0, 0, B999) is None
    assert ar.budget_remaining(0, 0, B999) is None
    assert not ar.exceeds(0, 0, 1.0, B999)


def test_a_ratio_of_sums_not_an_average_of_ratios():
    # one check: 1 bad of 10; another: 0 of 990 -> 1/1000, not (10% + 0%) / 2
    total = Counts(10, 1) + Counts(990, 0)
    assert ar.error_ratio(total.bad(False), total.polls) == 0.001


def test_degraded_counts_only_when_asked():
    c = Counts(polls=100, down=1, degraded=2)
    assert (c.bad(False), c.bad(True)) == (1, 3)


def test_burn_rate_and_overspent_budget():
    assert ar.burn_rate(144, 10_000, B999) == pytest.approx(14.4)
    assert ar.budget_remaining(2, 1_000, B999) == pytest.approx(-1.0)
    assert ar.budget_remaining(0, 5, B999) == 1.0


def _state(long, short, *, rate=14.4, min_bad=1, enough=True, degraded=False):
    return ar.row_state(
        long,
        short,
        rate=rate,
        budget=B999,
        count_degraded=degraded,
        min_bad=min_bad,
        enough_history=enough,
    )


def test_a_row_fires_only_when_both_windows_exceed_the_rate():
    hot, cold = Counts(60, 2), Counts(60, 0)
    assert _state(hot, Counts(5, 1)) == ar.FIRING
    assert _state(hot, Counts(5, 0)) == ar.OK  # the short window has recovered
    assert _state(cold, Counts(5, 1)) == ar.OK  # a blip, not a burn
    # strictly greater: 1 bad in 100 polls against 10 x 0.1% is exactly the rate
    assert _state(Counts(100, 1), Counts(100, 1), rate=10) == ar.OK
    assert _state(Counts(100, 0, 2), Counts(5, 0, 1), degraded=True) == ar.FIRING


def test_min_bad_events_holds_back_a_page_and_history_or_data_can_stop_a_row():
    # the docs' example: a 30 s poll, 99.9%: 2 bad of 120 polls in an hour is 16.7x
    two_of_120 = Counts(120, 2)
    assert ar.burn_rate(2, 120, B999) == pytest.approx(16.667, abs=1e-3)
    assert _state(two_of_120, Counts(10, 1), min_bad=3) == ar.TOO_FEW
    assert _state(Counts(120, 3), Counts(10, 1), min_bad=3) == ar.FIRING
    assert _state(two_of_120, Counts(10, 1), enough=False) == ar.INSUFFICIENT
    assert _state(two_of_120, Counts(0, 0)) == ar.NO_DATA
    assert _state(Counts(0, 0), Counts(0, 0)) == ar.NO_DATA


def test_time_to_exhaustion():
    month = timedelta(days=30)
    assert ar.time_to_exhaustion(0.5, 1.0, month) == timedelta(days=15)
    assert ar.time_to_exhaustion(1.0, 14.4, month) == timedelta(days=30) / 14.4
    assert ar.time_to_exhaustion(0.5, 0.0, month) is None  # not burning
    assert ar.time_to_exhaustion(-0.1, 2.0, month) == timedelta(0)  # spent already
    assert ar.time_to_exhaustion(None, 2.0, month) is None
    assert ar.time_to_exhaustion(0.5, None, month) is None


def test_consumed_is_a_share_of_the_windows_budget():
    # 43,200 polls allow 43.2 bad at 99.9%: 10 bad spent 23.1% of it
    assert ar.consumed(10, 43_200, B999) == pytest.approx(10 / 43.2)
    assert ar.consumed(3, 0, B999) is None
