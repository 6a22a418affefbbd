"""The error-budget arithmetic: pure functions of counts, no I/O.

Everything is a ratio of sums (Σ bad ÷ Σ total over a window, over every check of an SLO),
never an average of per-check or per-hour ratios. A window without a single poll is "no data"
(None), never NaN and never good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

NO_DATA = "no data"
INSUFFICIENT = "insufficient history"
FIRING = "firing"
OK = "ok"
TOO_FEW = "too few bad events"


@dataclass(frozen=True, slots=True)
class Counts:
    """Polls in a window: all of them, the down ones and the degraded ones."""

    polls: int = 0
    down: int = 0
    degraded: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.polls + other.polls, self.down + other.down, self.degraded + other.degraded
        )

    def bad(self, count_degraded: bool) -> int:
        return self.down + (self.degraded if count_degraded else 0)


def error_ratio(bad: int, total: int) -> float | None:
    return bad / total if total > 0 else None


def burn_rate(bad: int, total: int, budget: float) -> float | None:
    """How many times faster than sustainable the budget burns: (bad/total) / (1 - objective).
    A burn rate of 1 spends exactly the whole budget over the SLO's window."""
    ratio = error_ratio(bad, total)
    return None if ratio is None else ratio / budget


def budget_remaining(bad: int, total: int, budget: float) -> float | None:
    """1 - (Σbad / Σtotal) / (1 - objective), as a share; negative once overspent."""
    rate = burn_rate(bad, total, budget)
    return None if rate is None else 1 - rate


def exceeds(bad: int, total: int, rate: float, budget: float) -> bool:
    """bad/total > rate × budget: the form of the Workbook's alert expressions (and so of a
    Prometheus rule written from them), compared the same way."""
    return total > 0 and bad / total > rate * budget


def row_state(
    long: Counts,
    short: Counts,
    *,
    rate: float,
    budget: float,
    count_degraded: bool,
    min_bad: int,
    enough_history: bool,
) -> str:
    """One policy row: firing when both windows exceed the rate (and the long window holds at
    least ``min_bad`` bad polls); without a full long window of history, or any poll in either
    window, it cannot say."""
    if not enough_history:
        return INSUFFICIENT
    if long.polls == 0 or short.polls == 0:
        return NO_DATA
    lb, sb = long.bad(count_degraded), short.bad(count_degraded)
    if exceeds(lb, long.polls, rate, budget) and exceeds(sb, short.polls, rate, budget):
        return FIRING if lb >= min_bad else TOO_FEW
    return OK


def time_to_exhaustion(
    remaining: float | None, rate: float | None, window: timedelta
) -> timedelta | None:
    """How long the budget left lasts at ``rate`` (burning ``rate`` budgets per window): None
    when nothing burns or nothing is known, zero once it is spent."""
    if remaining is None or rate is None:
        return None
    if remaining <= 0:
        return timedelta(0)
    if rate <= 0:
        return None
    return timedelta(seconds=round(remaining * window.total_seconds() / rate))


def consumed(bad: int, window_total: int, budget: float) -> float | None:
    """The share of a window's budget that ``bad`` polls spent: the budget allows
    budget × window_total bad polls over the window."""
    allowed = budget * window_total
    return None if window_total <= 0 else bad / allowed
