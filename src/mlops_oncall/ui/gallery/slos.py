"""The gallery's SLOs: a slos.yaml over two of its checks and 30 days of polls written as the
monitor writes them (hourly and per-minute roll-ups), so the dashboard's SLO panel, the SLO
alarm and the declare dialog's budget line show fixed figures.

The story is docs/slo.md's worked example: ``fraud.ready`` polled once a minute, objective
99.9% over 30 days, 10 bad polls scattered over the month, then down for the last three
minutes: 13 bad of 43,200 leave 69.9% of the budget, and the 1h/5m and 6h/30m page rows
fire (50x over the hour).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

SLOS_YAML = """\
slos:
  - id: fraud-availability
    checks: [fraud.ready]
    objective: 99.9
  - id: features-availability
    checks: [feature-store.health]
    objective: 99.5
"""

DAYS = 30
SCATTERED_BAD = 10  # one bad poll each, a day or more apart, none in the last 3 days
OUTAGE_MINUTES = 3  # down for the last three polls before the scene's time


def history(now: datetime) -> Iterable[tuple[str, datetime, str]]:
    """(check, at, state): one poll a minute at :30 for 30 days up to ``now``."""
    minutes = DAYS * 24 * 60
    scattered = {minutes - (4 + 2 * i) * 24 * 60 for i in range(SCATTERED_BAD)}
    for check in ("fraud.ready", "feature-store.health"):
        for back in range(minutes, 0, -1):
            at = now - timedelta(minutes=back) + timedelta(seconds=30)
            bad = check == "fraud.ready" and (back in scattered or back <= OUTAGE_MINUTES)
            yield check, at, "down" if bad else "up"


def seed_polls(store, polls: Iterable[tuple[str, datetime, str]], now: datetime) -> None:
    """Write polls as the monitor's roll-ups: every hour, and the minutes it still keeps."""
    from mlops_oncall.checks.probe import Result
    from mlops_oncall.checks.rollup import Rollup
    from mlops_oncall.store.checks_history import (
        MINUTE_RETENTION,
        merge_minutes,
        merge_rollups,
    )

    rollup = Rollup()
    for check, at, state in polls:
        rollup.add(Result(check, state, None, "", 40.0 if state != "down" else None, None, [], at))
    merge_rollups(store, rollup.drain(None))
    kept = [m for m in rollup.drain_minutes() if m.hour >= now - MINUTE_RETENTION]
    merge_minutes(store, kept, now=now)


def install(workspace_root: Path, store, now: datetime) -> None:
    """slos.yaml beside the checks, and the history the SLOs are evaluated over."""
    (workspace_root / "slos.yaml").write_text(SLOS_YAML)
    seed_polls(store, history(now), now)
