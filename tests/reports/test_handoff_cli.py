"""`mlops-oncall handoff`: every section from a seeded shift, --since, recording, -o, --json."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_oncall import clock as clock_module
from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store.db import open_store

from . import mdcheck
from .handoff_seed import NOW, seed_shift
from .seed import BEARER

CONTEXT_KEYS = [
    "generated_at", "since", "since_source", "last_handoff", "open_incidents", "changes",
    "actions", "failing_checks", "risks_due", "drills_due", "due_soon_days", "drill_stale_days",
]  # fmt: skip
OPEN_KEYS = [
    "id", "title", "severity", "status", "service", "declared", "open_for", "open_for_seconds",
    "commander", "roles", "step",
]  # fmt: skip
CHANGE_KEYS = [
    "id", "title", "status", "events", "declared", "status_changes", "severity_changes", "notes",
    "decisions", "roles", "steps", "actions_added", "summary",
]  # fmt: skip


@pytest.fixture
def shift(backend_url, tmp_path, monkeypatch):
    """A workspace whose database holds the seeded shift (on each backend); the clock pinned at
    NOW."""
    (tmp_path / "oncall.yaml").write_text(f"database: {backend_url}\n", encoding="utf-8")
    store = open_store(backend_url)
    seed_shift(store)
    fixed = FixedClock(NOW)
    monkeypatch.setattr(clock_module.SYSTEM, "now", fixed.now)
    yield store, fixed
    store.close()


def section(text: str, heading: str) -> str:
    """The lines under a `## heading...` up to the next heading."""
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_section_from_the_seeded_shift(shift, cli):
    r = cli("handoff")
    assert r.code == 0, r.err
    out = r.out
    assert "Since 2026-11-29 12:00:00 UTC (the last 12 hours: no hand-off recorded yet)" in out
    opened = section(out, "Open incidents")
    assert (
        "| INC-0002 | SEV1 | investigating | Fraud scoring p99 above SLO | alice | 20h |" in opened
    )
    assert "(7 of 12)" in opened and "commander alice, operations bob" in opened
    for gone in ("INC-0001", "INC-0003", "INC-0004"):  # resolved, resolved, a drill
        assert gone not in opened
    changes = section(out, "Changes since")
    assert "**INC-0002**" in changes and "severity SEV2 → SEV1" in changes
    assert "status triage → investigating" in changes and "2 notes" in changes
    assert "1 decision" in changes and "3 steps recorded" in changes
    assert "**INC-0003** (resolved)" in changes and "investigating → resolved" in changes
    assert "INC-0001" not in changes and "INC-0004" not in changes
    actions = section(out, "Action items")
    assert "Alert on p99 per workload | bob | 2026-11-29 **overdue**" in actions
    assert "Rollback runbook for v42 | carol | 2026-12-02 |" in actions
    assert "Capacity review" not in actions  # due the 10th: not soon
    checks = section(out, "Checks failing")
    assert "| fraud.model-ready | down | 2026-11-29 21:00 UTC (3h) | http_status |" in checks
    assert "| features.health | degraded |" in checks
    assert "pipeline.freshness" not in checks  # back up since
    review = section(out, "Due for review")
    assert "R-001" in review and "**overdue** since 2026-11-28" in review
    assert "R-002" in review and "due 2026-12-01" in review and "R-003" not in review
    assert "`gpu-oom`" in review and "120 days ago" in review
    assert "data-drift" not in review  # drilled 5 days ago
    assert BEARER.split()[1] not in out  # the note is counted, never printed
    assert len(mdcheck.check(out)) == 3  # incidents, actions, checks: well-formed tables


def test_since_narrows_what_changed(shift, cli):
    r = cli("handoff", "--since", "4h")
    assert r.code == 0, r.err
    assert "Since 2026-11-29 20:00:00 UTC (as asked)" in r.out
    changes = section(r.out, "Changes since")
    assert "**INC-0003**" in changes and "INC-0002" not in changes  # its changes were at 18-19h
    assert "INC-0002" in section(r.out, "Open incidents")  # still open, still listed


@pytest.mark.parametrize("value", ["yesterday-ish", "2h from now"])
def test_a_bad_since_is_one_line(shift, cli, value):
    r = cli("handoff", "--since", value)
    assert r.code == 2
    assert r.err.count("\n") == 1 and "--since" in r.err and "Traceback" not in r.err


def test_a_future_since_is_refused(shift, cli):
    r = cli("handoff", "--since", "2026-12-01")
    assert (r.code, r.err) == (2, "error: --since must be in the past\n")


def test_recording_then_the_next_note_starts_from_it(shift, cli):
    store, clock = shift
    r = cli("handoff", "--record")
    assert r.code == 0, r.err
    assert "recorded the hand-off on 1 open incident" in r.err
    svc = Incidents(store, clock=clock)
    last = svc.events("INC-0002")[-1]
    assert (last.kind, last.actor, last.ts) == ("handoff", "tester", NOW)
    assert last.data == {"since": "2026-11-29 12:00:00 UTC"}
    assert svc.verify("INC-0002").ok  # a hand-off changes no state: the chain still verifies

    clock.advance(timedelta(hours=1))
    svc.note("INC-0002", "the next shift starts")
    r = cli("handoff", "--since", "last")
    assert r.code == 0, r.err
    assert "Since 2026-11-30 00:00:00 UTC (the last hand-off, by tester)" in r.out
    changes = section(r.out, "Changes since")
    assert "**INC-0002** (investigating) Fraud scoring p99 above SLO: 1 event; 1 note" in changes
    assert "INC-0003" not in changes
    j = cli("handoff", "--json").json()
    assert j["last_handoff"] == {
        "at": "2026-11-30 00:00:00 UTC",
        "by": "tester",
        "incident": "INC-0002",
    }


def test_recording_with_nothing_open_records_nothing(tmp_path, cli, monkeypatch):
    (tmp_path / "oncall.yaml").write_text("database: sqlite:///empty.db\n", encoding="utf-8")
    r = cli("handoff", "--record")
    assert r.code == 0, r.err
    assert "no open incident: nothing recorded" in r.err
    assert "_No open incidents._" in r.out and "_Nothing changed._" in r.out
    assert cli("handoff", "--json").json()["last_handoff"] is None


def test_output_file_refuses_to_overwrite_without_force(shift, cli, tmp_path):
    target = tmp_path / "handoff.md"
    r = cli("handoff", "-o", str(target))
    assert r.code == 0, r.err
    first = target.read_text(encoding="utf-8")
    assert first.startswith("# Shift hand-off\n") and r.out == ""
    target.write_text("kept\n", encoding="utf-8")
    r = cli("handoff", "-o", str(target))
    assert r.code == 2
    assert "exists; use --force to replace it" in r.err
    assert target.read_text(encoding="utf-8") == "kept\n"
    r = cli("handoff", "-o", str(target), "--force")
    assert r.code == 0, r.err
    assert target.read_text(encoding="utf-8") == first


@pytest.mark.sqlite_only("a PostgreSQL database is no file that -o could overwrite")
def test_output_file_is_never_the_database(shift, cli):
    r = cli("handoff", "-o", "oncall.db", "--force")
    assert r.code == 2 and "it is the database" in r.err


def test_json_shape(shift, cli):
    r = cli("handoff", "--json")
    assert r.code == 0, r.err
    j = r.json()
    assert list(j) == CONTEXT_KEYS
    assert (j["since_source"], j["last_handoff"]) == ("default", None)
    [inc] = j["open_incidents"]
    assert list(inc) == OPEN_KEYS
    assert inc["step"] == {
        "runbook": "model-latency-spike",
        "id": inc["step"]["id"],
        "title": inc["step"]["title"],
        "position": "7 of 12",
    }
    assert inc["roles"] == [
        {"role": "commander", "who": "alice"},
        {"role": "operations", "who": "bob"},
    ]
    assert inc["open_for_seconds"] == 72000
    assert [list(c) for c in j["changes"]] == [CHANGE_KEYS, CHANGE_KEYS]
    assert [(a["incident"], a["number"], a["days_left"], a["overdue"]) for a in j["actions"]] == [
        ("INC-0002", 1, -1, True),
        ("INC-0002", 2, 2, False),
    ]
    assert [(c["id"], c["state"]) for c in j["failing_checks"]] == [
        ("features.health", "degraded"),
        ("fraud.model-ready", "down"),
    ]
    assert [(r["id"], r["overdue"]) for r in j["risks_due"]] == [("R-001", True), ("R-002", False)]
    due = {d["scenario"]: d["days_since"] for d in j["drills_due"]}
    assert due["gpu-oom"] == 120 and due["batch-backlog"] is None and "data-drift" not in due
    assert j["drills_due"][-1]["scenario"] == "gpu-oom"  # never drilled first
