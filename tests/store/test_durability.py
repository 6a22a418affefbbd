"""Nothing acknowledged is lost: SIGKILL mid-append, and two writers at once."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store.db import open_store

APPENDER = str(Path(__file__).with_name("appender.py"))


def _spawn(url: str, incident: str, count: int, label: str) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, APPENDER, url, incident, str(count), label],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "ready", p.stderr.read()
    return p


@pytest.mark.parametrize("round_", range(4))
def test_sigkill_loses_nothing_that_was_acknowledged(tmp_path, round_):
    url = f"sqlite:///{tmp_path / 'oncall.db'}"
    svc = Incidents(open_store(url), actor="setup")
    inc = svc.declare("durability", "SEV3").id
    rng = random.Random(round_)
    kill_after = rng.randint(3, 40)
    p = _spawn(url, inc, 10_000, "writer")
    printed = []
    for _ in range(kill_after):
        printed.append(int(p.stdout.readline()))
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)

    con = sqlite3.connect(tmp_path / "oncall.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in con.execute("SELECT id FROM event")}
    con.close()
    assert set(printed) <= stored
    svc2 = Incidents(open_store(url))
    v = svc2.verify(inc)
    assert v.ok, v.problem
    assert v.events >= len(printed) + 3


def test_two_writers_keep_one_linear_chain(tmp_path):
    url = f"sqlite:///{tmp_path / 'oncall.db'}"
    svc = Incidents(open_store(url), actor="setup")
    inc = svc.declare("concurrency", "SEV3").id
    n = 60
    a = _spawn(url, inc, n, "a")
    b = _spawn(url, inc, n, "b")
    out_a, err_a = a.communicate(timeout=120)
    out_b, err_b = b.communicate(timeout=120)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    ids = [int(x) for x in (out_a + out_b).split()]
    assert len(ids) == len(set(ids)) == 2 * n
    evs = svc.events(inc)
    notes = [e.text for e in evs if e.kind == "note"]
    assert sorted(notes) == sorted([f"a {i}" for i in range(n)] + [f"b {i}" for i in range(n)])
    # each writer's notes stay in its own order within the merged chain
    assert [t for t in notes if t.startswith("a ")] == [f"a {i}" for i in range(n)]
    assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
    assert svc.verify(inc).ok


def test_sqlite_settings_and_file_mode(tmp_path):
    path = tmp_path / "sub" / "oncall.db"
    path.parent.mkdir()  # the store does not create folders
    store = open_store(f"sqlite:///{path}")
    Incidents(store).declare("x", "SEV4")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    wal = Path(str(path) + "-wal")
    if wal.exists():
        assert oct(wal.stat().st_mode & 0o777) == "0o600"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.close()


def test_existing_file_keeps_its_mode_and_data(tmp_path):
    path = tmp_path / "oncall.db"
    s = open_store(f"sqlite:///{path}")
    inc = Incidents(s).declare("keep me", "SEV4").id
    s.close()
    os.chmod(path, 0o600)
    again = Incidents(open_store(f"sqlite:///{path}"))
    assert again.get(inc).row.title == "keep me"
