"""Concurrent writers to one incident: an append waits for the incident's lock; a conflict it
still meets is retried, a bounded number of times, then reported as one line. Everything is
real: a second connection to the same database holds or commits an event row, or the server
itself aborts an insert (a trigger raising a serialization failure)."""

from __future__ import annotations

import inspect
import sqlite3
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest

from mlops_oncall.config import load_workspace
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.incidents.writer import ATTEMPTS, WriteConflict
from mlops_oncall.session import Session
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.types import ts_text

pytestmark = pytest.mark.timeout(60)


def _session(url: str, actor: str) -> Session:
    workspace = load_workspace(None)
    workspace.as_actor = actor
    return Session(workspace, database_url=url)


def _foreign_event(head: tuple[int, str], actor: str = "outsider") -> tuple:
    """The next event of INC-0001 as a writer that ignored the incident lock would insert it,
    correctly chained: (incident_id, seq, ts, actor, kind, text, data, prev_hash, hash)."""
    seq, prev = head[0] + 1, head[1]
    ts = ts_text(datetime.now(UTC))
    digest = tl.event_hash("INC-0001", seq, ts, actor, "note", "from outside", "{}", prev)
    return (1, seq, ts, actor, "note", "from outside", "{}", prev, digest)


_INSERT = (
    "INSERT INTO event (incident_id, seq, ts, actor, kind, text, data, prev_hash, hash) "
    "VALUES ({0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0})"
)


def test_every_write_operation_retries():
    """Each public operation that opens a write transaction is wrapped by @retried."""
    unwrapped = [
        name
        for name, fn in inspect.getmembers(Incidents, inspect.isfunction)
        if "self._write()" in inspect.getsource(fn) and not hasattr(fn, "__wrapped__")
    ]
    assert unwrapped == []


def _wait_until_blocked(url: str, deadline_s: float = 10) -> None:
    """Until some backend of this database waits on a lock (the app's append)."""
    end = time.monotonic() + deadline_s
    with psycopg.connect(url, autocommit=True) as watch:
        while time.monotonic() < end:
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.01)  # polling a condition, bounded by the deadline
    raise AssertionError("the app's append never waited on the other transaction")


def test_an_outside_insert_holds_the_append_back_on_postgres(pg_url):
    """Another transaction's uncommitted event row takes a key-share lock on the incident row
    (the foreign key), so the app's append waits at its lock and, once the other writer has
    moved the head and committed, appends after it: no collision, one chain."""
    session = _session(pg_url, "alice")
    try:
        svc = session.incidents
        svc.declare("shared incident", "SEV2")
        head = svc.head(1)
        other = psycopg.connect(pg_url)  # one open transaction until commit
        row = _foreign_event(head)
        other.execute(_INSERT.format("%s"), row)
        result: dict = {}

        def append() -> None:
            try:
                result["event"] = svc.note("INC-0001", "from alice")
            except Exception as exc:  # reported below
                result["error"] = exc

        worker = threading.Thread(target=append)
        worker.start()
        _wait_until_blocked(pg_url)
        other.execute(
            "UPDATE incident SET head_seq = %s, head_hash = %s WHERE id = 1", (row[1], row[8])
        )
        other.commit()
        other.close()
        worker.join(30)
        assert "error" not in result, result.get("error")
        assert result["event"].seq == head[0] + 2
        events = svc.events("INC-0001")
        assert [e.seq for e in events] == list(range(1, head[0] + 3))
        assert [e.actor for e in events[-2:]] == ["outsider", "alice"]
        assert svc.verify("INC-0001").ok
    finally:
        session.close()


def _fail_appends(url: str, times: int) -> None:
    """Make the server abort the first ``times`` event inserts with a serialization failure
    (SQLSTATE 40001). A sequence counts the attempts: it is not rolled back with them."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE append_attempts")
        conn.execute(
            f"""CREATE FUNCTION fail_first() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF nextval('append_attempts') <= {times} THEN
                RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
              END IF;
              RETURN NEW;
            END $$"""
        )
        conn.execute(
            "CREATE TRIGGER fail_first BEFORE INSERT ON event "
            "FOR EACH ROW EXECUTE FUNCTION fail_first()"
        )


def _attempts(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT last_value FROM append_attempts").fetchone()[0]


def test_a_serialization_failure_is_retried_on_postgres(pg_url):
    session = _session(pg_url, "alice")
    try:
        svc = session.incidents
        svc.declare("shared incident", "SEV2")
        _fail_appends(pg_url, 2)
        event = svc.note("INC-0001", "third time lucky")
        assert _attempts(pg_url) == 3
        assert [e.seq for e in svc.events("INC-0001")][-1] == event.seq
        assert svc.verify("INC-0001").ok
    finally:
        session.close()


def test_retries_are_bounded_on_postgres(pg_url):
    session = _session(pg_url, "alice")
    try:
        svc = session.incidents
        svc.declare("shared incident", "SEV2")
        head = svc.head(1)
        _fail_appends(pg_url, 1000)
        with pytest.raises(WriteConflict) as err:
            svc.note("INC-0001", "never recorded")
        assert _attempts(pg_url) == ATTEMPTS
        assert err.value.exit_code == 2
        assert str(err.value).startswith("INC-0001 was not changed: the database aborted it")
        assert svc.head(1) == head
    finally:
        session.close()


def _insert_committed(url: str, row: tuple) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(_INSERT.format("?"), row)
    else:
        with psycopg.connect(url) as conn:
            conn.execute(_INSERT.format("%s"), row)


def test_a_conflict_on_every_attempt_is_one_line(database, cli_proc):
    """An event row at the next seq that the head does not know (a writer that ignored the
    lock): every attempt collides with it on UNIQUE(incident_id, seq); after ATTEMPTS tries
    the command says so in one line naming the incident, exit 2, and records nothing."""
    assert cli_proc("incident", "declare", "--title", "t", "--severity", "SEV3").code == 0
    head = cli_proc("incident", "show", "INC-0001", "--json").json()["head"]
    _insert_committed(database, _foreign_event((head["seq"], head["hash"])))
    r = cli_proc("incident", "note", "INC-0001", "lost in the race")
    assert r.code == 2, r.err
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert "INC-0001 was not changed" in lines[0]
    assert f"on all {ATTEMPTS} attempts" in lines[0]
    assert "another writer took the same event number" in lines[0]
    timeline = cli_proc("incident", "timeline", "INC-0001", "--json").out
    assert "lost in the race" not in timeline
