"""Presence (store/presence.py) on SQLite and on a real PostgreSQL: beats upsert one row per
session, the others are named once each (you in another terminal last), stale sessions drop
out after 30 s and their rows are swept, and presence never reaches the timeline or the export.
Time is a fixed clock moved by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.session import Session
from mlops_oncall.store.db import open_store
from mlops_oncall.store.presence import STALE_AFTER, Here, PresenceBoard
from mlops_oncall.store.tables import Presence
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, make_workspace
from tests.store.test_storage_errors import read_only

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'oncall.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    s = open_store(url)
    yield s
    s.close()


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def incident(store, clock):
    return Incidents(store, clock=clock, actor="alice").declare("ranker drift", "SEV2").id


def board(store, clock, actor, key):
    return PresenceBoard(store, actor=actor, clock=clock, session_key=key)


def rows(store) -> list[tuple]:
    with store.read() as conn:
        return sorted(
            tuple(r)
            for r in conn.execute(
                select(Presence.c.incident_id, Presence.c.session_key, Presence.c.seen_at)
            )
        )


def test_others_are_named_once_each_and_you_elsewhere_last(store, clock, incident):
    me = board(store, clock, "alice", "a1")
    me.beat(incident)
    assert me.others(incident) == []  # alone: your own session is not "someone else"
    board(store, clock, "carol", "c1").beat(incident)
    clock.advance(3)
    bob = board(store, clock, "bob", "b1")
    bob.beat(incident)
    board(store, clock, "bob", "b2").beat(incident)  # bob in two terminals: named once
    board(store, clock, "alice", "a2").beat(incident)  # you, in another terminal
    assert me.others(incident) == [
        Here("bob", False, T0 + timedelta(seconds=3)),
        Here("carol", False, T0),
        Here("alice", True, T0 + timedelta(seconds=3)),
    ]
    # another incident's presence is not this one's
    other = Incidents(store, clock=clock, actor="alice").declare("gpu oom", "SEV1").id
    board(store, clock, "dave", "d1").beat(other)
    assert [h.actor for h in bob.others(incident)] == ["alice", "carol", "bob"]
    assert [(h.actor, h.you) for h in bob.others(incident)][-1] == ("bob", True)


def test_a_beat_moves_the_one_row_of_its_session(store, clock, incident):
    me = board(store, clock, "alice", "a1")
    me.beat(incident)
    clock.advance(10)
    me.beat(incident)
    assert rows(store) == [(1, "a1", T0 + timedelta(seconds=10))]


def test_a_stale_session_drops_out_after_30_s_and_is_swept_later(store, clock, incident):
    me = board(store, clock, "alice", "a1")
    gone = board(store, clock, "bob", "b1")
    gone.beat(incident)  # bob's terminal dies without leaving
    clock.advance(STALE_AFTER)
    me.beat(incident)
    assert [h.actor for h in me.others(incident)] == ["bob"]  # seen exactly 30 s ago: still here
    clock.advance(1)
    assert me.others(incident) == []
    # the row stays until someone opens or leaves an incident: an idle beat only upserts
    me.beat(incident)
    assert {key for _, key, _ in rows(store)} == {"a1", "b1"}
    carol = board(store, clock, "carol", "c1")
    carol.beat(incident)  # her first beat on it sweeps the stale rows
    assert {key for _, key, _ in rows(store)} == {"a1", "c1"}


def test_leaving_removes_you_at_once_and_sweeps(store, clock, incident):
    me = board(store, clock, "alice", "a1")
    bob = board(store, clock, "bob", "b1")
    stale = board(store, clock, "eve", "e1")
    stale.beat(incident)
    clock.advance(31)
    me.beat(incident)
    bob.beat(incident)
    assert [h.actor for h in me.others(incident)] == ["bob"]
    bob.leave(incident)
    assert me.others(incident) == []
    assert [key for _, key, _ in rows(store)] == ["a1"]  # bob's row and eve's stale one
    bob.beat(incident)  # back again: a new row, and the sweep runs again on this first beat
    assert [h.actor for h in me.others(incident)] == ["bob"]


def test_presence_is_not_evidence(store, clock, incident):
    incidents = Incidents(store, clock=clock, actor="alice")
    before, head = "".join(incidents.export(incident)), incidents.head(incident)
    board(store, clock, "bob-the-reviewer", "session-of-bob").beat(incident)
    after = "".join(incidents.export(incident))
    assert after == before and json.loads(after)  # the export is unchanged, and whole
    assert incidents.head(incident) == head  # nothing appended to the chain
    assert "session-of-bob" not in after and "bob-the-reviewer" not in after
    assert incidents.verify(incident).ok


def test_a_read_only_store_records_no_presence(tmp_path, clock):
    path = tmp_path / "oncall.db"
    with open_store(f"sqlite:///{path}") as s:
        incident = Incidents(s, clock=clock, actor="alice").declare("drift", "SEV3").id
    with read_only(path, tmp_path), open_store(f"sqlite:///{path}") as ro:
        assert ro.read_only
        me = board(ro, clock, "alice", "a1")
        me.beat(incident)  # nothing to write to, and nothing raised
        me.leave(incident)
        assert me.others(incident) == []


def test_two_sessions_of_one_person_count_apart(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_ACTOR", "alice")
    ws = load_workspace(make_workspace(tmp_path, FIXED_CHECKS))
    first, second = (Session(ws, database_url=store.url) for _ in range(2))
    try:
        incident = first.incidents.declare("drift", "SEV3").id
        assert first.presence.session_key != second.presence.session_key
        first.presence.beat(incident)
        assert [(h.actor, h.you) for h in second.presence.others(incident)] == [("alice", True)]
    finally:
        first.close()
        second.close()
