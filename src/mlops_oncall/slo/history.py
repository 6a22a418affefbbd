"""A history of polls in JSON lines, for `slo eval --history`: backfills and trying a policy
on past data. One poll a line: {"check": ID, "at": RFC 3339, "state": "up|degraded|down"}.

The polls are folded into per-minute counts, the store's roll-ups' shape, and read through
prefix sums, so evaluating every minute of days of history stays linear. A line that is not
such a poll is one located error (file:line: what), and nothing is evaluated.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from mlops_oncall.checks.rollup import minute_of
from mlops_oncall.formats.errors import BadInput
from mlops_oncall.slo.arithmetic import Counts
from mlops_oncall.slo.evaluate import LOOKBEHIND, Sums, hour_floor

STATES = ("up", "degraded", "down")
MAX_LINE = 64 * 1024  # a poll is under 200 bytes; a longer line is not one


class HistoryError(BadInput):
    """A line of the history that is not a poll: file:line: what (exit 1, as a file with
    validation errors)."""

    exit_code = 1


def _poll(line: str, where: str) -> tuple[str, datetime, str]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{where}: not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise HistoryError(f"{where}: expected an object with check, at and state")
    unknown = sorted(set(value) - {"check", "at", "state"})
    if unknown:
        raise HistoryError(f"{where}: unknown field '{unknown[0]}'; expected check, at, state")
    check, at, state = value.get("check"), value.get("at"), value.get("state")
    if not isinstance(check, str) or not check:
        raise HistoryError(f"{where}: check: expected a check id")
    if state not in STATES:
        raise HistoryError(f"{where}: state: expected up, degraded or down, got {state!r}")
    try:
        ts = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        ts = None
    if ts is None or ts.tzinfo is None:
        raise HistoryError(
            f"{where}: at: expected an RFC 3339 time with its offset, such as "
            f"2026-11-28T03:00:30Z, got {at!r}"
        )
    return check, ts, state


def read_history(
    path: Path | str, *, until: datetime | None = None, checks: set[str] | None = None
) -> MemorySource:
    """Read the polls of ``path`` (those of ``checks`` only, if given; none after ``until``).
    Streamed line by line; a bad line raises HistoryError naming it."""
    name = str(path)
    minutes: dict[str, dict[datetime, list[int]]] = {}
    try:
        fh = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise HistoryError(f"{name}: cannot read: {exc.strerror or exc}") from None
    with fh:
        n = 0
        while True:
            try:
                line = fh.readline(MAX_LINE + 1)
            except UnicodeDecodeError:
                raise HistoryError(f"{name}:{n + 1}: invalid UTF-8") from None
            if not line:
                break
            n += 1
            if len(line) > MAX_LINE:
                raise HistoryError(f"{name}:{n}: line longer than {MAX_LINE // 1024} KiB")
            if not line.strip():
                continue
            check, ts, state = _poll(line, f"{name}:{n}")
            if (checks is not None and check not in checks) or (until is not None and ts > until):
                continue
            key = minute_of(ts.astimezone(UTC))
            c = minutes.setdefault(check, {}).setdefault(key, [0, 0, 0])
            c[0] += 1
            c[1] += state == "down"
            c[2] += state == "degraded"
    return MemorySource.from_minutes(
        {k: {m: Counts(*c) for m, c in v.items()} for k, v in minutes.items()}
    )


class _Series:
    """One check's minutes, sorted, with prefix sums of each count."""

    def __init__(self, minutes: dict[datetime, Counts]):
        self.at = sorted(minutes)
        rows = [minutes[m] for m in self.at]
        self.polls = [0, *accumulate(c.polls for c in rows)]
        self.down = [0, *accumulate(c.down for c in rows)]
        self.degraded = [0, *accumulate(c.degraded for c in rows)]

    def between(self, lo: datetime, hi: datetime) -> Counts:
        i, j = bisect_left(self.at, lo), bisect_left(self.at, hi)
        return Counts(
            self.polls[j] - self.polls[i],
            self.down[j] - self.down[i],
            self.degraded[j] - self.degraded[i],
        )

    def first_from(self, lo: datetime, hi: datetime) -> datetime | None:
        i = bisect_left(self.at, lo)
        return self.at[i] if i < len(self.at) and self.at[i] < hi else None


class MemorySource:
    """The evaluation's Source over per-minute counts held in memory."""

    def __init__(self, series: dict[str, _Series]):
        self.series = series

    @classmethod
    def from_minutes(cls, minutes: dict[str, dict[datetime, Counts]]) -> MemorySource:
        return cls({check: _Series(m) for check, m in minutes.items()})

    @classmethod
    def from_polls(cls, polls: Iterable[tuple[str, datetime, str]]) -> MemorySource:
        """(check, at, state) triples, for tests and backfills built in code."""
        minutes: dict[str, dict[datetime, Counts]] = {}
        for check, at, state in polls:
            m = minutes.setdefault(check, {})
            key = minute_of(at)
            m[key] = m.get(key, Counts()) + Counts(1, state == "down", state == "degraded")
        return cls.from_minutes(minutes)

    def minute_sums(self, end: datetime, spans: list[timedelta]) -> Sums:
        out = Sums()
        lo = end - max(spans, default=timedelta(0)) - LOOKBEHIND
        for check, s in self.series.items():
            out.counts[check] = [s.between(end - span, end) for span in spans]
            first = s.first_from(lo, end)
            if first is not None:
                out.first[check] = first
        return out

    def hour_sums(self, start: datetime, end: datetime) -> Sums:
        out = Sums()
        for check, s in self.series.items():
            out.counts[check] = [s.between(start, end)]
            first = s.first_from(start - timedelta(days=1), end)
            if first is not None:
                out.first[check] = hour_floor(first)
        return out
