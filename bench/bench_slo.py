"""`slo status` over many checks with 30 days of history, against a plain SQL aggregate over the
30 days' roll-ups in the same run; and the store size the roll-ups take.

The store holds what the monitor leaves after 30 days at one poll a minute per check: hourly
roll-ups for the 30 days, and minute roll-ups for the last 3d 1h (older ones are pruned; the
bench checks that a prune after another day of minutes brings the table back to that size).

status  - every SLO (one per check) evaluated now: the minute and hourly roll-ups read by
          slo/records.py, the windows and rows computed (what `slo status` runs)
plain   - SELECT check_id, SUM(polls), SUM(down), SUM(degraded) ... GROUP BY check_id over the
          30 days of rows, hourly and minute (status reads the hourly rows and only the
          minutes its windows' partial hours need)

  python bench/bench_slo.py [--checks 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from mlops_oncall.slo.config import Slo
from mlops_oncall.slo.evaluate import evaluate
from mlops_oncall.slo.records import StoreSource
from mlops_oncall.store import checks_history as ch
from mlops_oncall.store.db import open_store
from mlops_oncall.store.types import ts_text

NOW = datetime(2026, 12, 6, 12, 0, 30, tzinfo=UTC)


def _fill(db: Path, checks: int, *, minutes_back: timedelta, hours: bool) -> None:
    """Minute rows for ``minutes_back`` and (if ``hours``) 30 days of hourly rows, one poll a
    minute, one in 500 down; written with sqlite3 for speed (the layout is the store's)."""
    open_store(f"sqlite:///{db}").close()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    end = NOW.replace(second=0)
    n = int(minutes_back.total_seconds() // 60)
    ids = [f"check-{i:04d}" for i in range(checks)]
    for k in range(n, 0, -1):
        minute = ts_text(end - timedelta(minutes=k))
        down = (k % 500) == 0
        con.executemany(
            "INSERT INTO check_minute (check_id, minute, polls, successes, degraded, down, "
            "latency_counts) VALUES (?, ?, 1, ?, 0, ?, ?)",
            [(c, minute, 0 if down else 1, 1 if down else 0, '{"3": 1}') for c in ids],
        )
    if hours:
        counts = json.dumps([0, 0, 0, 60] + [0] * 14)
        for k in range(30 * 24, -1, -1):
            hour = ts_text(end.replace(minute=0) - timedelta(hours=k))
            con.executemany(
                "INSERT INTO check_rollup (check_id, hour, polls, successes, degraded, down, "
                "latency_sum_ms, latency_counts) VALUES (?, ?, 60, 60, 0, 0, 2400.0, ?)",
                [(c, hour, counts) for c in ids],
            )
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


PLAIN = {
    "minutes": "SELECT check_id, SUM(polls), SUM(down), SUM(degraded) FROM check_minute "
    "WHERE minute >= ? AND minute < ? GROUP BY check_id",
    "hours": "SELECT check_id, SUM(polls), SUM(down), SUM(degraded) FROM check_rollup "
    "WHERE hour >= ? AND hour < ? GROUP BY check_id",
}


def _timed(fn, repeat: int) -> tuple[float, float]:
    """Median seconds over ``repeat`` runs, and the peak traced memory (MiB) of one."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "slo.db"
        t = time.perf_counter()
        _fill(db, args.checks, minutes_back=ch.MINUTE_RETENTION, hours=True)
        print(f"filled in {time.perf_counter() - t:.0f} s")
        store = open_store(f"sqlite:///{db}")
        slos = [
            Slo(f"slo-{i}", (f"check-{i:04d}",), Decimal("99.9"), timedelta(days=30), "30d")
            for i in range(args.checks)
        ]
        raw = sqlite3.connect(db)
        end = NOW.replace(second=0) + timedelta(minutes=1)
        lo_min = ts_text(end - ch.LONGEST_ALERT_WINDOW - timedelta(hours=1))
        lo_hour = ts_text(end.replace(minute=0) - timedelta(days=31))
        hi = ts_text(end)

        def status():
            return evaluate(slos, StoreSource(store), NOW)

        def plain():
            a = raw.execute(PLAIN["minutes"], (lo_min, hi)).fetchall()
            b = raw.execute(PLAIN["hours"], (lo_hour, hi)).fetchall()
            return a, b

        got = status()
        assert len(got) == args.checks and got[0].counts.polls > 0
        rounds = []
        for _ in range(3):  # interleaved, so a busy moment hits both
            rounds.append((_timed(status, args.repeat), _timed(plain, args.repeat)))
        (s_t, s_m), (p_t, p_m) = sorted(rounds, key=lambda r: r[0][0] / r[1][0])[1]
        ratios = sorted(r[0][0] / r[1][0] for r in rounds)
        print(f"status {s_t * 1000:.0f} ms, peak {s_m:.1f} MiB")
        print(f"plain  {p_t * 1000:.0f} ms, peak {p_m:.1f} MiB")
        print("ratio  " + ", ".join(f"{r:.2f}x" for r in ratios) + " (median round shown)")
        raw.close()
        minute_rows = store_rows(db, "check_minute")
        store.close()
        size = db.stat().st_size
        print(
            f"store  {size / 2**20:.0f} MiB: {minute_rows:,} minute rows (3d 1h), "
            f"{store_rows(db, 'check_rollup'):,} hourly rows (30d)"
        )
        # the minute table alone, and bounded: a day more of minutes, then the monitor's prune
        mdb = Path(tmp) / "minutes.db"
        _fill(mdb, args.checks, minutes_back=ch.MINUTE_RETENTION + timedelta(days=1), hours=False)
        before = store_rows(mdb, "check_minute")
        s = open_store(f"sqlite:///{mdb}")
        ch.merge_minutes(s, [], now=NOW)
        s.close()
        after = store_rows(mdb, "check_minute")
        con = sqlite3.connect(mdb)
        con.execute("VACUUM")
        con.close()
        print(
            f"minutes {mdb.stat().st_size / 2**20:.0f} MiB after the prune: "
            f"{before:,} rows -> {after:,}"
        )


def store_rows(db: Path, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


if __name__ == "__main__":
    main()
