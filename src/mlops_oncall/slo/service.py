"""`Session.slos`: the workspace's SLOs evaluated over the store's roll-ups.

``status()`` is now, ``evaluate(at)`` any time (from the store or another ``Source``), and
``consumed(slo_id, t0, t1)`` the share of the budget the polls between t0 and t1 spent (the
postmortem's "this incident used 34% of the budget").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mlops_oncall.clock import Clock
from mlops_oncall.slo import arithmetic as ar
from mlops_oncall.slo.config import Slo, SloSet
from mlops_oncall.slo.evaluate import (
    MINUTE,
    SloStatus,
    Source,
    ceil_hour,
    ceil_minute,
    evaluate,
    hour_floor,
)
from mlops_oncall.slo.records import StoreSource
from mlops_oncall.store.checks_history import MINUTE_RETENTION
from mlops_oncall.store.db import Store

# the SRE Workbook's postmortem trigger: one incident spent more than 20% of the budget
POSTMORTEM_SHARE = 0.20


@dataclass(frozen=True)
class Consumed:
    """The budget the polls in [start, end) spent, against the SLO's window ending at end."""

    slo: Slo
    start: datetime
    end: datetime
    bad: int
    window_total: int
    share: float | None  # of the window's budget; None without any poll in the window

    @property
    def needs_postmortem(self) -> bool:
        return self.share is not None and self.share > POSTMORTEM_SHARE


class Slos:
    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        slos: SloSet,
        redact: Callable[[str], str] = str,
    ):
        self._store = store  # opened when first needed: an eval of a history needs none
        self.clock = clock
        self.set = slos
        self.redact = redact  # a Prometheus SLO's error line

    @property
    def store(self) -> Store:
        return self._store()

    def _source(self) -> StoreSource:
        return StoreSource(self.store, {c for s in self.set for c in s.checks})

    def status(self) -> list[SloStatus]:
        return self.evaluate(self.clock.now())

    def evaluate(self, at: datetime, source: Source | None = None) -> list[SloStatus]:
        """Every SLO at ``at``, in file order: those on checks from ``source`` (the store's
        roll-ups by default), those on Prometheus queries from Prometheus itself."""
        on_checks = [s for s in self.set if s.prometheus is None]
        on_prom = [s for s in self.set if s.prometheus is not None]
        got = {}
        if on_checks or not on_prom:
            got = {st.slo.id: st for st in evaluate(on_checks, source or self._source(), at)}
        if on_prom:
            from mlops_oncall.slo import prometheus

            got |= {st.slo.id: st for st in prometheus.evaluate(on_prom, at, self.redact)}
        return [got[s.id] for s in self.set]

    def consumed(self, slo_id: str, start: datetime, end: datetime) -> Consumed:
        """From the minute roll-ups while they are kept, else the whole hours around it."""
        slo = self.set.slos[slo_id]
        if slo.prometheus is not None:
            return self._consumed_prometheus(slo, start, end)
        source = StoreSource(self.store, set(slo.checks))
        stop = ceil_minute(end)
        if start >= self.clock.now() - MINUTE_RETENTION:
            begin = start.replace(second=0, microsecond=0)
            sums = source.minute_sums(stop, [max(stop - begin, MINUTE)])
        else:  # the minutes are pruned: the whole hours around it
            sums = source.hour_sums(hour_floor(start), ceil_hour(stop))
        bad = sum((sums.counts[c][0] for c in slo.checks if c in sums.counts), ar.Counts()).bad(
            slo.count_degraded
        )
        (window,) = evaluate([slo], source, end)
        total = window.counts.polls
        return Consumed(slo, start, end, bad, total, ar.consumed(bad, total, slo.budget))

    def _consumed_prometheus(self, slo: Slo, start: datetime, end: datetime) -> Consumed:
        """Prometheus's bad events in [start, end) against its total over the window ending
        at ``end``; a failed query is no figure (share None)."""
        from mlops_oncall.slo import prometheus

        (window,) = prometheus.evaluate([slo], end, self.redact)
        try:
            bad = prometheus.consumed_bad(slo, start, end) if window.error is None else 0
        except prometheus.PromError as exc:
            bad, window = 0, prometheus.failed(slo, end, self.redact(str(exc)))
        total = window.counts.polls
        share = None if window.error is not None else ar.consumed(bad, total, slo.budget)
        return Consumed(slo, start, end, bad, total, share)  # type: ignore[arg-type]
