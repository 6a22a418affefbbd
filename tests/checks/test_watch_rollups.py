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


def test_a_database_that_cannot_be_written_is_a_warning_and_the_watch_goes_on(tmp_path, serve):
    """The monitor writes on its worker thread; a failed write is one warning line on stderr,
    the transitions are still printed, and the command ends cleanly."""
    from mlops_oncall.store.db import open_store
    from tests.store.test_storage_errors import read_only

    srv = serve({"/ok": Reply(200, "ok")})
    path = write(
        tmp_path, f'defaults: {{interval: 50ms}}\nchecks: [{{id: ok, url: "{srv.url}/ok"}}]\n'
    )
    db = tmp_path / "watch.db"
    open_store(f"sqlite:///{db}").engine.dispose()  # created and migrated, then made read-only
    with read_only(db, tmp_path):
        r = subprocess.run(
            [console_script(), "check", "watch", "--checks", str(path), "--for", "0.5s"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "MLOPS_ONCALL_DATABASE": str(db)},
        )
    assert r.returncode == 0, r.stderr
    assert "ok  unknown → up  ok" in r.stdout
    failures = [line for line in r.stderr.splitlines() if "could not record" in line]
    assert failures and all(line.startswith("warning: could not record ") for line in failures)
    assert "warning: could not record a transition: " in r.stderr
    assert "read-only" in r.stderr and "Traceback" not in r.stderr
    assert rollup_polls(db) == {}  # nothing was written
