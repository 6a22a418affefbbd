"""The incident timeline on a real PostgreSQL: the same commands, the same chain, the same
tamper detection as on SQLite; and many processes appending to one incident at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def on_pg(pg_url, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", pg_url)
    return pg_url


def test_declare_note_verify_on_postgres(on_pg, cli_proc):
    r = cli_proc("incident", "declare", "--title", "feature store timeouts", "--severity", "SEV2")
    assert r.code == 0, r.err
    assert r.out.strip() == "INC-0001"
    assert cli_proc("incident", "note", "INC-0001", "p99 at 4s on the online store").code == 0
    shown = cli_proc("incident", "show", "INC-0001", "--json").json()
    assert shown["title"] == "feature store timeouts"
    assert shown["head"]["seq"] >= 2
    r = cli_proc("incident", "verify", "INC-0001")
    assert r.code == 0, r.out + r.err
    assert "chain intact" in r.out


def test_tampering_is_detected_on_postgres(on_pg, cli_proc):
    cli_proc("incident", "declare", "--title", "drift on ranker", "--severity", "SEV3")
    cli_proc("incident", "note", "INC-0001", "rolled back to v41")
    with psycopg.connect(on_pg, autocommit=True) as conn:
        conn.execute("UPDATE event SET text = 'nothing happened' WHERE kind = 'note'")
    r = cli_proc("incident", "verify", "INC-0001")
    assert r.code == 1
    assert "nothing happened" not in r.out
    assert "hash" in (r.out + r.err).lower()


def test_eight_processes_append_to_one_incident(on_pg, cli_proc):
    """8 processes × 50 notes: one gapless sequence and a valid chain, 50 per actor."""
    cli_proc("incident", "declare", "--title", "shared incident", "--severity", "SEV1")
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.team.writer", on_pg, "INC-0001", f"writer{n}", "50"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(8)
    ]
    failed = []
    for w in writers:
        _out, err = w.communicate(timeout=150)
        if w.returncode != 0:
            failed.append(err[-1500:])
    assert not failed, failed[0]
    r = cli_proc("incident", "timeline", "INC-0001", "--json")
    events = json.loads(r.out)
    events = events["events"] if isinstance(events, dict) else events
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    notes = [e for e in events if e["kind"] == "note"]
    assert len(notes) == 400
    for n in range(8):
        assert sum(1 for e in notes if e["actor"] == f"writer{n}") == 50
    assert cli_proc("incident", "verify", "INC-0001").code == 0
