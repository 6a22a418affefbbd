"""The SLO windows' SQL: sums of the minute and hourly roll-ups (store/checks_history.py
writes both from the same polls, so an hour's row is the sum of its minutes).

A window that holds whole hours reads them from the hourly roll-ups and only its ragged
edges from the minutes: the 3d window of 1,000 checks is 72,000 hourly rows and under two
hours of minutes, not 4.3 million minute rows. Each table is read by one statement for every
window: the rows of the ranges wanted (an OR of them) are put in the elementary interval
between consecutive range bounds that holds them (a CASE ladder) and summed per check and
interval; each window is then the sum of its intervals. Whether a check's history reaches a
window's start is read from the hour of minutes before it (``LOOKBEHIND``).
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select

from mlops_oncall.slo.arithmetic import Counts
from mlops_oncall.slo.evaluate import LOOKBEHIND, MINUTE, Sums, ceil_hour, hour_floor
from mlops_oncall.store.db import Store
from mlops_oncall.store.tables import CheckMinute as MI
from mlops_oncall.store.tables import CheckRollup as RU

Range = tuple[datetime, datetime]


class StoreSource:
    """The evaluation's Source over the store's roll-ups."""

    def __init__(self, store: Store, checks: set[str] | None = None):
        self.store = store
        self.checks = checks  # only these checks' rows (None: all)

    def _read(self, table, column, ranges: list[Range]):
        """Per check: {interval index: (Counts, first)} over the elementary intervals of
        ``ranges``'s bounds, and the bounds."""
        ranges = [(lo, hi) for lo, hi in ranges if lo < hi]
        bounds = sorted({b for r in ranges for b in r})
        if not ranges:
            return bounds, {}
        interval = case(
            *((column < b, literal(i)) for i, b in enumerate(bounds[1:])),
            else_=literal(len(bounds) - 1),
        ).label("interval")
        q = (
            select(
                table.c.check_id,
                interval,
                func.sum(table.c.polls),
                func.sum(table.c.down),
                func.sum(table.c.degraded),
                func.min(column),
            )
            .where(or_(*(and_(column >= lo, column < hi) for lo, hi in ranges)))
            .group_by(table.c.check_id, interval)
        )
        if self.checks is not None:
            q = q.where(table.c.check_id.in_(sorted(self.checks)))
        out: dict[str, dict[int, tuple[Counts, datetime]]] = {}
        with self.store.read() as conn:
            for check, i, polls, down, degraded, first in conn.execute(q):
                counts = Counts(int(polls), int(down), int(degraded))
                out.setdefault(check, {})[int(i)] = (counts, first)
        return bounds, out

    @staticmethod
    def _between(bounds, intervals, lo: datetime, hi: datetime) -> Counts:
        total = Counts()
        if lo >= hi:
            return total
        for i in range(bisect_left(bounds, lo), bisect_left(bounds, hi)):
            got = intervals.get(i)
            if got is not None:
                total = total + got[0]
        return total

    def minute_sums(self, end: datetime, spans: list[timedelta]) -> Sums:
        whole_end = hour_floor(end)
        plans = {}
        minute_ranges: list[Range] = []
        hour_ranges: list[Range] = []
        for span in spans:
            start = end - span
            whole_start = ceil_hour(start)
            if whole_start < whole_end:  # whole hours inside: only the edges are minutes
                plans[span] = ((start, whole_start), (whole_start, whole_end), (whole_end, end))
                hour_ranges.append((whole_start, whole_end))
                minute_ranges += [(start, whole_start), (whole_end, end)]
            else:
                plans[span] = ((start, end), None, None)
                minute_ranges.append((start, end))
            # does the history reach the window's start? (the hour of minutes before it)
            minute_ranges.append((start - LOOKBEHIND, start + MINUTE))
        m_bounds, minutes = self._read(MI, MI.c.minute, minute_ranges)
        h_bounds, hours = self._read(RU, RU.c.hour, hour_ranges)
        out = Sums()
        for check in minutes.keys() | hours.keys():
            m, h = minutes.get(check, {}), hours.get(check, {})
            counts = []
            for span in spans:
                head, middle, tail = plans[span]
                c = self._between(m_bounds, m, *head)
                if middle is not None:
                    c = c + self._between(h_bounds, h, *middle) + self._between(m_bounds, m, *tail)
                counts.append(c)
            out.counts[check] = counts
            if m:
                out.first[check] = min(first for _, first in m.values())
        return out

    def hour_sums(self, start: datetime, end: datetime) -> Sums:
        out = Sums()
        # the day before is read for the history's start only
        bounds, hours = self._read(
            RU, RU.c.hour, [(start - timedelta(days=1), start), (start, end)]
        )
        for check, intervals in hours.items():
            out.counts[check] = [self._between(bounds, intervals, start, end)]
            out.first[check] = min(first for _, first in intervals.values())
        return out
