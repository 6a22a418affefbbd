"""Hourly roll-ups per check: polls, successes, degraded, and a fixed-bucket latency histogram.

The buckets never change, so hours from different days and machines merge by adding counts, and
weekly percentiles come out of the merged histogram (nearest rank, reported as the bucket's
upper edge). Pure: the store persists what ``drain`` hands it.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from math import ceil
from typing import Any

from mlops_oncall.checks.probe import Result
from mlops_oncall.formats.timestamps import rfc3339

# upper edges in ms; one more bucket counts everything above the last edge
BUCKETS_MS: tuple[int, ...] = (
    5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
)  # fmt: skip


def hour_of(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def minute_of(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def bucket_index(latency_ms: float) -> int:
    """Index of the first bucket whose upper edge is >= latency (len(BUCKETS_MS) = overflow)."""
    return bisect_left(BUCKETS_MS, latency_ms)


@dataclass
class HourRollup:
    check_id: str
    hour: datetime
    polls: int = 0
    successes: int = 0
    degraded: int = 0
    down: int = 0
    latency_sum_ms: float = 0.0
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_MS) + 1))

    def add(self, result: Result) -> None:
        self.polls += 1
        if result.state == "up":
            self.successes += 1
        elif result.state == "degraded":
            self.degraded += 1
        elif result.state == "down":
            self.down += 1
        if result.latency_ms is not None:
            self.latency_counts[bucket_index(result.latency_ms)] += 1
            self.latency_sum_ms += result.latency_ms

    def merge(self, other: HourRollup) -> None:
        self.polls += other.polls
        self.successes += other.successes
        self.degraded += other.degraded
        self.down += other.down
        self.latency_sum_ms += other.latency_sum_ms
        self.latency_counts = [
            a + b for a, b in zip(self.latency_counts, other.latency_counts, strict=True)
        ]

    @property
    def availability(self) -> float | None:
        return self.successes / self.polls if self.polls else None

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile, as the upper edge of its bucket (inf for the overflow)."""
        return percentile(self.latency_counts, p)

    def to_json(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "hour": rfc3339(self.hour),
            "polls": self.polls,
            "successes": self.successes,
            "degraded": self.degraded,
            "down": self.down,
            "latency_sum_ms": round(self.latency_sum_ms, 1),
            "latency_buckets_ms": list(BUCKETS_MS),
            "latency_counts": list(self.latency_counts),
        }


def percentile(counts: list[int], p: float) -> float | None:
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, ceil(p / 100 * total))
    seen = 0
    for i, n in enumerate(counts):
        seen += n
        if seen >= rank:
            return float(BUCKETS_MS[i]) if i < len(BUCKETS_MS) else float("inf")
    return float("inf")  # pragma: no cover - the loop always reaches the rank


class Rollup:
    """Accumulates results into (check_id, hour) roll-ups, and the same counts per (check_id,
    minute) for the SLO burn-rate windows (an ``HourRollup`` whose ``hour`` is the minute's
    start); the store drains them and merges them into its rows."""

    def __init__(self) -> None:
        self.hours: dict[tuple[str, datetime], HourRollup] = {}
        self.minutes: dict[tuple[str, datetime], HourRollup] = {}

    def add(self, result: Result) -> None:
        if result.state == "unknown":  # a query without a value: not a poll for availability
            return
        for table, start in (
            (self.hours, hour_of(result.observed_at)),
            (self.minutes, minute_of(result.observed_at)),
        ):
            key = (result.check_id, start)
            entry = table.get(key)
            if entry is None:
                entry = table[key] = HourRollup(result.check_id, start)
            entry.add(result)

    def drain_minutes(self) -> list[HourRollup]:
        """Remove and return every minute, the current one too (the store merges a minute
        flushed in parts), so a kill -9 loses at most the polls since the last drain."""
        done, self.minutes = self.minutes, {}
        return [done[k] for k in sorted(done, key=lambda k: (k[1], k[0]))]

    def get(self, check_id: str, hour: datetime) -> HourRollup | None:
        return self.hours.get((check_id, hour_of(hour)))

    def drain(self, now: datetime | None = None) -> list[HourRollup]:
        """Remove and return the hours that ended before ``now`` (all of them if None)."""
        if now is None:
            done = list(self.hours)
        else:
            current = hour_of(now)
            done = [k for k in self.hours if k[1] < current]
        return [self.hours.pop(k) for k in sorted(done, key=lambda k: (k[1], k[0]))]
