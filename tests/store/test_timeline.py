"""The hash chain: intact chains verify; every kind of tampering is named."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from mlops_oncall.formats.refs import public_id
from mlops_oncall.store import timeline as tl
from tests.conftest import raw_sql as _sql


@pytest.fixture
def inc(svc, clock):
    view = svc.declare("p99 up", "SEV2", service="fraud-scoring")
    for i in range(5):
        clock.advance(60)
        svc.note(view.id, f"note {i}")
    return view.row.id


def test_intact_chain_verifies(svc, inc):
    v = svc.verify(inc)
    assert v.ok and v.problem is None
    assert v.events == v.head_seq == 8  # declared, detected, declared milestones, 5 notes
    evs = svc.events(inc)
    assert [e.seq for e in evs] == list(range(1, 9))
    assert evs[0].prev_hash == tl.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(evs))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ts", "2026-11-28T03:03:30.000000Z"),
        ("actor", "mallory"),
        ("kind", "decision"),
        ("text", "nothing to see"),
        ("data", '{"x":1}'),
    ],
)
def test_edited_field_is_named(svc, inc, db_url, column, value):
    _sql(db_url, f"UPDATE event SET {column} = ? WHERE incident_id = ? AND seq = 5", value, inc)
    v = svc.verify(inc)
    assert not v.ok and v.bad_seq == 5
    assert v.problem.startswith("event 5 (") and v.problem.endswith(
        "was edited: its content does not match its hash"
    )


def test_unknown_kind_is_named(svc, inc, db_url):
    _sql(db_url, "UPDATE event SET kind = 'rewrite' WHERE incident_id = ? AND seq = 4", inc)
    v = svc.verify(inc)
    assert (v.bad_seq, v.problem) == (4, "event 4 has an unknown kind 'rewrite' (edited)")


def test_edited_hash_breaks_the_next_link(svc, inc, db_url):
    _sql(db_url, "UPDATE event SET hash = ? WHERE incident_id = ? AND seq = 3", "f" * 64, inc)
    v = svc.verify(inc)
    assert (v.bad_seq, v.problem) == (
        3,
        "event 3 (milestone) was edited: its content does not match its hash",
    )


def test_edited_prev_hash(svc, inc, db_url):
    _sql(db_url, "UPDATE event SET prev_hash = ? WHERE incident_id = ? AND seq = 6", "0" * 64, inc)
    v = svc.verify(inc)
    assert v.bad_seq == 6
    assert v.problem == (
        "event 6 does not follow event 5: its prev_hash does not match (event 5 or this link was changed)"
    )


def test_rehashed_edit_is_caught_by_the_next_link(svc, inc, db_url, store):
    """A tamperer who recomputes the edited event's own hash still breaks the chain after it."""
    with store.read() as conn:
        ev = tl.events(conn, inc)[3]
    forged = tl.event_hash(
        public_id(inc),
        ev.seq,
        tl.ts_text(ev.ts),
        ev.actor,
        ev.kind,
        "forged",
        tl.canonical_data(ev.data),
        ev.prev_hash,
    )
    _sql(
        db_url,
        "UPDATE event SET text = 'forged', hash = ? WHERE incident_id = ? AND seq = 4",
        forged,
        inc,
    )
    v = svc.verify(inc)
    assert v.bad_seq == 5 and "does not follow event 4" in v.problem


def test_deleted_event_is_named(svc, inc, db_url):
    _sql(db_url, "DELETE FROM event WHERE incident_id = ? AND seq = 4", inc)
    v = svc.verify(inc)
    assert (v.bad_seq, v.problem) == (
        4,
        "event 4 is missing: the chain jumps from 3 to 5 (deleted)",
    )


def test_deleted_range_is_named(svc, inc, db_url):
    _sql(db_url, "DELETE FROM event WHERE incident_id = ? AND seq IN (4, 5)", inc)
    v = svc.verify(inc)
    assert v.problem == "events 4-5 are missing: the chain jumps from 3 to 6 (deleted)"


def test_deleted_last_event_is_named(svc, inc, db_url):
    _sql(db_url, "DELETE FROM event WHERE incident_id = ? AND seq = 8", inc)
    v = svc.verify(inc)
    assert (v.bad_seq, v.problem) == (
        8,
        "the timeline ends at event 7 but the head says 8: the last event was deleted",
    )


def test_changed_last_event_is_named(svc, inc, db_url, store):
    """The last event has no successor: only the incident's head catches a rehashed edit."""
    with store.read() as conn:
        ev = tl.events(conn, inc)[-1]
    forged = tl.event_hash(
        public_id(inc),
        ev.seq,
        tl.ts_text(ev.ts),
        ev.actor,
        ev.kind,
        "forged",
        tl.canonical_data(ev.data),
        ev.prev_hash,
    )
    _sql(
        db_url,
        "UPDATE event SET text = 'forged', hash = ? WHERE incident_id = ? AND seq = 8",
        forged,
        inc,
    )
    v = svc.verify(inc)
    assert (v.bad_seq, v.problem) == (
        8,
        "event 8, the last, does not match the incident's head hash: it was changed",
    )


def test_event_moved_to_another_incident(svc, inc, db_url, clock):
    other = svc.declare("other", "SEV4").row.id
    _sql(db_url, "UPDATE event SET incident_id = ? WHERE incident_id = ? AND seq = 8", other, inc)
    assert svc.verify(inc).problem.startswith("the timeline ends at event 7")
    v2 = svc.verify(other)
    assert not v2.ok


def test_edited_seq_is_named(svc, inc, db_url):
    _sql(db_url, "UPDATE event SET seq = 40 WHERE incident_id = ? AND seq = 8", inc)
    v = svc.verify(inc)
    assert not v.ok and v.bad_seq == 8


def _reverify(doc: dict) -> bool:
    """Re-check an export's chain with nothing but hashlib and json, as an auditor would."""
    import hashlib
    import json

    cols = doc["event_columns"]
    prev = "0" * 64
    for values in doc["events"]:
        ev = dict(zip(cols, values, strict=True))
        payload = [
            doc["incident"]["id"],
            ev["seq"],
            ev["ts"],
            ev["actor"],
            ev["kind"],
            ev["text"],
            ev["data_json"],
            prev,
        ]
        digest = hashlib.sha256(
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        if ev["prev_hash"] != prev or ev["hash"] != digest:
            return False
        prev = digest
    return prev == doc["head"]["hash"]


def test_latest_page_and_export(svc, inc, clock):
    import json

    page = svc.latest(inc, 3)
    assert [e.seq for e in page] == [6, 7, 8]
    doc = json.loads("".join(svc.export(inc)))
    assert doc["format"] == "mlops-oncall-evidence/1"
    assert doc["event_columns"] == [
        "seq",
        "ts",
        "actor",
        "kind",
        "text",
        "data_json",
        "prev_hash",
        "hash",
    ]
    assert [e[0] for e in doc["events"]] == list(range(1, 9))
    assert doc["head"] == {"seq": 8, "hash": page[-1].hash}
    assert doc["events"][0][1].endswith("Z")
    assert _reverify(doc)


def test_export_lets_an_auditor_catch_tampering(svc, inc, db_url):
    import json

    _sql(db_url, "UPDATE event SET text = 'x' WHERE incident_id = ? AND seq = 2", inc)
    doc = json.loads("".join(svc.export(inc)))
    assert not _reverify(doc)


def test_timestamps_are_aware_utc(svc, inc, store):
    view = svc.get(inc)
    for name in ("created_at", "updated_at", "declared_at", "detected_at"):
        assert getattr(view.row, name).utcoffset() == timedelta(0)
    for ev in svc.events(inc):
        assert ev.ts.tzinfo is not None and ev.ts.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(store):
    from datetime import datetime

    from mlops_oncall.store.types import ts_text

    with pytest.raises(ValueError, match="naive datetime"):
        ts_text(datetime(2026, 1, 1))


def test_unknown_kind_cannot_be_appended(store, svc, inc):
    with store.write() as conn:
        row = tl.lock_incident(conn, inc)
        app = tl.Appender.for_row(conn, row)
        with pytest.raises(ValueError, match="unknown event kind"):
            app.append("rewrite", ts=svc.clock.now(), actor="x")
