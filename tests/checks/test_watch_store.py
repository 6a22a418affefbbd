"""`check watch` records threshold crossings and hourly roll-ups in the workspace's store."""

from __future__ import annotations

import sqlite3

from mlops_oncall.drills.fake.system import FakeSystem


def test_watch_records_transitions_and_rollups(cli, tmp_path, monkeypatch):
    fake = FakeSystem().start()
    try:
        fake.inject("fraud-scoring", "errors", rate=1)
        (tmp_path / "oncall.yaml").write_text("name: watch\n")
        (tmp_path / "checks.yaml").write_text(
            "defaults: {interval: 200ms, timeout: 500ms, thresholds: {degraded_after: 1, down_after: 2, recover_after: 1}}\n"
            f"checks:\n  - id: fraud\n    url: {fake.url('fraud-scoring')}/v2/health/ready\n    service: fraud-scoring\n"
        )
        r = cli("check", "watch", "--for", "2s")
        assert r.code == 0, r.err
        assert "fraud" in r.out and "down" in r.out
    finally:
        fake.stop()
    con = sqlite3.connect(tmp_path / "oncall.db")
    moves = [
        row
        for row in con.execute(
            "SELECT check_id, to_state, error_class FROM check_transition ORDER BY id"
        )
    ]
    assert ("fraud", "down", "http_status") in moves
    (polls,) = con.execute(
        "SELECT SUM(polls) FROM check_rollup WHERE check_id = 'fraud'"
    ).fetchone()
    assert polls >= 3
