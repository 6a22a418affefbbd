"""The SLO windows' SQL: sums of the minute and hourly roll-ups (store/checks_history.py
writes them).

One statement per table for every window of every SLO: each row is put in the shortest span
that holds it (a CASE ladder over the spans, longest last) and summed per check and span, so
the database reads each row once, as a plain GROUP BY would; the spans are then accumulated
here (a 1h window is the 5m, 30m and 1h buckets).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, select

from mlops_oncall.slo.arithmetic import Counts
from mlops_oncall.slo.evaluate import LOOKBEHIND, Sums
from mlops_oncall.store.db import Store
from mlops_oncall.store.tables import CheckMinute as MI
from mlops_oncall.store.tables import CheckRollup as RU


def _ladder(column, bounds: list[datetime]):
    """0 for the newest bound's rows, 1 for the next, ...; len(bounds) before all of them."""
    return case(
        *((column >= bound, literal(i)) for i, bound in enumerate(bounds)),
        else_=literal(len(bounds)),
    )


class StoreSource:
    """The evaluation's Source over the store's roll-ups."""

    def __init__(self, store: Store, checks: set[str] | None = None):
        self.store = store
        self.checks = checks  # only these checks' rows (None: all)

    def _sums(self, table, column, bounds: list[datetime], lo: datetime, end: datetime):
        bucket = _ladder(column, bounds).label("bucket")
        q = (
            select(
                table.c.check_id,
                bucket,
                func.sum(table.c.polls),
                func.sum(table.c.down),
                func.sum(table.c.degraded),
                func.min(column),
            )
            .where(column >= lo, column < end)
            .group_by(table.c.check_id, bucket)
        )
        if self.checks is not None:
            q = q.where(table.c.check_id.in_(sorted(self.checks)))
        with self.store.read() as conn:
            return conn.execute(q).all()

    def minute_sums(self, end: datetime, spans: list[timedelta]) -> Sums:
        order = sorted(spans)
        bounds = [end - span for span in order]
        lo = end - (order[-1] if order else timedelta(0)) - LOOKBEHIND
        per: dict[str, list[Counts]] = {}
        out = Sums()
        for check, bucket, polls, down, degraded, first in self._sums(
            MI, MI.c.minute, bounds, lo, end
        ):
            buckets = per.setdefault(check, [Counts()] * (len(order) + 1))
            buckets[bucket] = Counts(int(polls), int(down), int(degraded))
            if check not in out.first or first < out.first[check]:
                out.first[check] = first
        for check, buckets in per.items():
            running, cumulative = Counts(), []
            for counts in buckets[: len(order)]:
                running = running + counts
                cumulative.append(running)
            by_span = dict(zip(order, cumulative, strict=True))
            out.counts[check] = [by_span[span] for span in spans]
        return out

    def hour_sums(self, start: datetime, end: datetime) -> Sums:
        out = Sums()
        rows = self._sums(RU, RU.c.hour, [start], start - timedelta(days=1), end)
        for check, bucket, polls, down, degraded, first in rows:
            out.counts.setdefault(check, [Counts()])
            if bucket == 0:
                out.counts[check] = [Counts(int(polls), int(down), int(degraded))]
            if check not in out.first or first < out.first[check]:
                out.first[check] = first
        return out
