"""An SLO at a time T: its budget, the burn rate of each policy window and which rows fire.

Windows are whole minutes. With E = T rounded up to the minute, a window of length w covers
the minute roll-ups that start in [E - w, E): at 10:00:00 the last hour is the minutes 09:00
to 09:59, at 10:00:30 it is 09:01 to 10:00 (10:00 holding the polls so far). The budget's
window (28 or 30 days) starts at the first whole hour inside it: the hourly roll-ups up to
E's hour, then E's hour from the minute roll-ups.

The counts come from a ``Source``: the store (``slo.records.StoreSource``) or a JSON-lines
history of polls (``slo.history.MemorySource``), so both are evaluated by the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.slo import arithmetic as ar
from mlops_oncall.slo.arithmetic import Counts
from mlops_oncall.slo.config import PolicyRow, Slo

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
# rows this long before a window are read for its history's start only (not summed)
LOOKBEHIND = timedelta(hours=1)


def ceil_minute(ts: datetime) -> datetime:
    floor = ts.replace(second=0, microsecond=0)
    return floor if floor == ts else floor + MINUTE


def ceil_hour(ts: datetime) -> datetime:
    floor = ts.replace(minute=0, second=0, microsecond=0)
    return floor if floor == ts else floor + HOUR


def hour_floor(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


@dataclass
class Sums:
    """Per check: the counts of each requested span, and the check's first row seen."""

    counts: dict[str, list[Counts]] = field(default_factory=dict)
    first: dict[str, datetime] = field(default_factory=dict)


class Source(Protocol):
    def minute_sums(self, end: datetime, spans: list[timedelta]) -> Sums:
        """Per check, the minute roll-ups starting in [end - span, end) for each span, and
        the first minute seen from LOOKBEHIND before the longest span on."""
        ...

    def hour_sums(self, start: datetime, end: datetime) -> Sums:
        """Per check, the hourly roll-ups starting in [start, end) (one span), and the first
        hour seen from a day before ``start`` on."""
        ...


@dataclass(frozen=True)
class RowStatus:
    row: PolicyRow
    state: str  # firing | ok | no data | insufficient history | too few bad events
    long: Counts
    short: Counts
    long_rate: float | None
    short_rate: float | None

    @property
    def firing(self) -> bool:
        return self.state == ar.FIRING

    def to_json(self, count_degraded: bool) -> dict[str, Any]:
        return {
            "long": format_duration(self.row.long),
            "short": format_duration(self.row.short),
            "threshold": self.row.burn_rate,
            "severity": self.row.severity,
            "state": self.state,
            "firing": self.firing,
            "long_rate": _round(self.long_rate),
            "short_rate": _round(self.short_rate),
            "long_bad": self.long.bad(count_degraded),
            "long_total": self.long.polls,
            "short_bad": self.short.bad(count_degraded),
            "short_total": self.short.polls,
        }


@dataclass(frozen=True)
class SloStatus:
    """An SLO evaluated at ``at``: what `slo status`, the dashboard and the alarm read."""

    slo: Slo
    at: datetime
    state: str  # ok | no data | insufficient history (of the budget's window)
    counts: Counts  # over the budget's window
    history_from: datetime | None
    remaining: float | None  # share of the budget left; negative once overspent
    rows: tuple[RowStatus, ...]
    current_rate: float | None  # the first row's long window: the burn now
    time_to_exhaustion: timedelta | None
    error: str | None = None  # a Prometheus SLO whose queries failed: why, one line

    @classmethod
    def of(
        cls,
        slo: Slo,
        at: datetime,
        state: str,
        counts: Counts,
        history_from: datetime | None,
        remaining: float | None,
        rows: Iterable[RowStatus],
    ) -> SloStatus:
        """The status, with the burn now (the first row's long window) and the time to
        exhaustion at that burn derived from the rows."""
        rows = tuple(rows)
        current = rows[0].long_rate if rows else None
        tte = ar.time_to_exhaustion(remaining, current, slo.window)
        return cls(slo, at, state, counts, history_from, remaining, rows, current, tte)

    @property
    def firing(self) -> list[RowStatus]:
        return [r for r in self.rows if r.firing]

    @property
    def paging(self) -> bool:
        return any(r.row.severity == "page" for r in self.firing)

    def to_json(self) -> dict[str, Any]:
        slo, cd = self.slo, self.slo.count_degraded
        tte = self.time_to_exhaustion
        return {
            "id": slo.id,
            "objective": float(slo.objective),
            "window": slo.window_text,
            "checks": list(slo.checks),
            "count_degraded": cd,
            "at": rfc3339(self.at),
            "state": self.state,
            "budget_remaining": None if self.remaining is None else round(self.remaining * 100, 2),
            "bad": self.counts.bad(cd),
            "total": self.counts.polls,
            "history_from": rfc3339(self.history_from),
            "burn_rate": _round(self.current_rate),
            "burn_rates": [r.to_json(cd) for r in self.rows],
            "firing": [
                {
                    "long": format_duration(r.row.long),
                    "short": format_duration(r.row.short),
                    "severity": r.row.severity,
                }
                for r in self.firing
            ],
            "time_to_exhaustion": None if tte is None else int(tte.total_seconds()),
        } | (self._prometheus_json() if slo.prometheus is not None else {})

    def _prometheus_json(self) -> dict[str, Any]:
        pair = self.slo.prometheus
        assert pair is not None
        queries = {k: getattr(pair, k) for k in ("bad", "good", "total") if getattr(pair, k)}
        return {
            "prometheus": {"url": pair.url, **queries, "unit": pair.unit},
            "error": self.error,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _total(sums: Sums, checks: Iterable[str], i: int) -> Counts:
    out = Counts()
    for check in checks:
        got = sums.counts.get(check)
        if got is not None:
            out = out + got[i]
    return out


def _first(sums: Sums, checks: Iterable[str]) -> datetime | None:
    seen = [sums.first[c] for c in checks if c in sums.first]
    return min(seen) if seen else None


def evaluate(slos: Iterable[Slo], source: Source, at: datetime) -> list[SloStatus]:
    """Every SLO at ``at``: one read of the minute roll-ups for all windows of all SLOs and
    one of the hourly roll-ups per budget window length."""
    slos = list(slos)
    end = ceil_minute(at)
    spans = sorted({w for s in slos for r in s.policy for w in (r.long, r.short)})
    partial = end - hour_floor(end)  # the budget's current hour, from the minutes
    if partial and partial not in spans:
        spans.append(partial)
    minutes = source.minute_sums(end, spans)
    hours: dict[timedelta, Sums] = {}
    out = []
    for slo in slos:
        start = ceil_hour(end - slo.window)
        if slo.window not in hours:
            hours[slo.window] = source.hour_sums(start, hour_floor(end))
        out.append(_one(slo, at, end, start, spans, minutes, hours[slo.window]))
    return out


def _one(
    slo: Slo,
    at: datetime,
    end: datetime,
    start: datetime,
    spans: list[timedelta],
    minutes: Sums,
    hours: Sums,
) -> SloStatus:
    checks, cd, budget = slo.checks, slo.count_degraded, slo.budget
    counts = _total(hours, checks, 0)
    partial = end - hour_floor(end)
    if partial:
        counts = counts + _total(minutes, checks, spans.index(partial))
    firsts = [t for t in (_first(hours, checks), _first(minutes, checks)) if t is not None]
    history_from = min(firsts) if firsts else None
    if counts.polls == 0:
        state = ar.NO_DATA
    elif history_from is None or history_from > start:
        state = ar.INSUFFICIENT
    else:
        state = ar.OK
    remaining = ar.budget_remaining(counts.bad(cd), counts.polls, budget)
    minute_from = _first(minutes, checks)
    rows = []
    for row in slo.policy:
        long = _total(minutes, checks, spans.index(row.long))
        short = _total(minutes, checks, spans.index(row.short))
        enough = minute_from is not None and minute_from <= end - row.long
        state_row = ar.row_state(
            long,
            short,
            rate=row.burn_rate,
            budget=budget,
            count_degraded=cd,
            min_bad=slo.min_bad_events if row.severity == "page" else 1,
            enough_history=enough,
        )
        rows.append(
            RowStatus(
                row,
                state_row,
                long,
                short,
                ar.burn_rate(long.bad(cd), long.polls, budget),
                ar.burn_rate(short.bad(cd), short.polls, budget),
            )
        )
    return SloStatus.of(slo, at, state, counts, history_from, remaining, rows)
