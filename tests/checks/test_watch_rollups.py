"""`check watch` writes its roll-ups while it runs, so a `kill -9` loses at most one period
of them (transitions are written as they happen)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

from tests.checks.helpers import write
from tests.checks.servers import Reply
from tests.conftest import console_script

DEADLINE = 30.0  # seconds; the rows come within a few --rollup-every periods


def rollup_polls(db) -> dict[str, int]:
    """Polls per check in the store's roll-ups; empty while the store or table is not there."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT check_id, SUM(polls) FROM check_rollup GROUP BY 1")
            return dict(rows.fetchall())
    except sqlite3.OperationalError:  # not created yet
        return {}


def test_rollups_survive_kill_9(tmp_path, serve):
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
        deadline = time.monotonic() + DEADLINE
        polls: dict[str, int] = {}
        # wait on the condition (a second flush of both checks), polling the database
        while time.monotonic() < deadline and proc.poll() is None:
            polls = rollup_polls(db)
            if polls.get("ok", 0) >= 5 and polls.get("bad", 0) >= 5:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert polls.get("ok", 0) >= 5 and polls.get("bad", 0) >= 5, polls
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stderr.close()
    after = rollup_polls(db)
    assert after["ok"] >= polls["ok"] and after["bad"] >= polls["bad"]
    with sqlite3.connect(db) as conn:
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
        transitions = conn.execute("SELECT COUNT(*) FROM check_transition").fetchone()[0]
    assert check == "ok"
    assert transitions >= 2  # unknown → up and unknown → degraded, written as they happened


def test_rollup_every_must_be_a_positive_duration(tmp_path, cli):
    path = write(tmp_path, "checks: [{id: a, url: 'http://127.0.0.1:9/'}]\n")
    r = cli("check", "watch", "--checks", path, "--rollup-every", "soon")
    assert r.code == 2
    assert r.err.startswith("error: --rollup-every: expected a duration")
