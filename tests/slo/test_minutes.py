"""Per-minute roll-ups: merged by adding (the current minute arrives in parts), pruned past
the longest alert window plus its margin, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.rollup import Rollup
from mlops_oncall.store import checks_history as ch
from mlops_oncall.store.db import open_store

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def store(backend_url):
    s = open_store(backend_url)
    yield s
    s.close()


def _result(check, at, state, latency=40.0):
    return Result(check, state, None, "", latency, 200, [], at)


def _rows(store):
    with store.read() as conn:
        return conn.exec_driver_sql(
            "SELECT check_id, minute, polls, successes, degraded, down, latency_counts "
            "FROM check_minute ORDER BY minute, check_id"
        ).all()


def test_minutes_merge_in_parts_and_sparse_latency(store):
    r = Rollup()
    r.add(_result("a", T0 + timedelta(seconds=10), "up"))
    r.add(_result("a", T0 + timedelta(seconds=40), "down", latency=900.0))
    r.add(_result("b", T0 + timedelta(seconds=70), "degraded"))
    ch.merge_minutes(store, r.drain_minutes())
    assert r.minutes == {}  # drained, the current minute too
    r.add(_result("a", T0 + timedelta(seconds=50), "up"))  # the same minute, a later flush
    ch.merge_minutes(store, r.drain_minutes())
    assert _rows(store) == [
        ("a", "2026-11-28T03:00:00.000000Z", 3, 2, 0, 1, '{"11": 1, "3": 2}'),
        ("b", "2026-11-28T03:01:00.000000Z", 1, 0, 1, 0, '{"3": 1}'),
    ]
    # the hourly roll-up got the same polls
    assert [(h.check_id, h.polls) for h in r.drain(None)] == [("a", 3), ("b", 1)]


def test_minutes_older_than_the_retention_are_pruned(store):
    r = Rollup()
    old = T0 - ch.MINUTE_RETENTION - timedelta(minutes=1)
    kept = T0 - ch.MINUTE_RETENTION
    r.add(_result("a", old, "up"))
    r.add(_result("a", kept, "up"))
    ch.merge_minutes(store, r.drain_minutes())
    assert len(_rows(store)) == 2
    ch.merge_minutes(store, [], now=T0)
    assert [row[1] for row in _rows(store)] == ["2026-11-25T02:00:00.000000Z"]
    assert timedelta(days=3, hours=1) == ch.MINUTE_RETENTION


def _minute_polls(db) -> dict[str, int]:
    import sqlite3

    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT check_id, SUM(polls) FROM check_minute GROUP BY 1")
            return dict(rows.fetchall())
    except sqlite3.OperationalError:  # not created yet
        return {}


def test_check_watch_writes_minutes_that_survive_kill_9(tmp_path, serve):
    """The monitor flushes the current minute too: what it wrote is there after a kill -9."""
    import os
    import signal
    import subprocess
    import time

    from tests.checks.helpers import write
    from tests.checks.servers import Reply
    from tests.conftest import console_script

    srv = serve({"/ok": Reply(200, "ok"), "/bad": Reply(500, "no")})
    path = write(
        tmp_path,
        f"""
        defaults: {{interval: 50ms, timeout: 1s}}
        checks:
          - {{id: ok, url: "{srv.url}/ok"}}
          - {{id: bad, url: "{srv.url}/bad"}}
        """,
    )
    db = tmp_path / "watch.db"
    proc = subprocess.Popen(
        [console_script(), "check", "watch", "--checks", str(path), "--rollup-every", "0.2s"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "MLOPS_ONCALL_DATABASE": str(db)},
    )
    try:
        deadline = time.monotonic() + 30
        polls: dict[str, int] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            polls = _minute_polls(db)
            if polls.get("ok", 0) >= 5 and polls.get("bad", 0) >= 5:
                break
            time.sleep(0.05)
        assert polls.get("ok", 0) >= 5 and polls.get("bad", 0) >= 5, polls
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stderr.close()
    after = _minute_polls(db)
    assert after["ok"] >= polls["ok"] and after["bad"] >= polls["bad"]
    import sqlite3

    with sqlite3.connect(db) as conn:
        down = conn.execute("SELECT SUM(down) FROM check_minute WHERE check_id = 'bad'").fetchone()
    assert down[0] == after["bad"]  # every poll of the failing check was down
