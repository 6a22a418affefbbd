"""When the team database is unreachable: writes go to the local outbox and are delivered, in
order, with their original times and actors, when it returns (docs/team.md).

The stop/start test stops a cluster of its own (a real `pg_ctl stop`, then a start on the same
data and port), so the shared test cluster stays up for the other tests.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.store.errors import StoreError
from tests import pgcluster

pytestmark = pytest.mark.timeout(120)

QUEUED = "database unreachable: queued in the local outbox ({n} pending); delivered when it returns"


@pytest.fixture(scope="module")
def own_cluster(pg_admin_url):
    """A PostgreSQL cluster for this module alone (it gets stopped and started again). Not
    under pytest's temporary folder: each pytest run makes that 0700 again, which would lock
    the postgres user out between a stop and a start."""
    root = Path(tempfile.mkdtemp(prefix="mlops-oncall-outbox-pg-"))
    try:
        url = pgcluster.start(root / "cluster")
        yield root / "cluster", url
    finally:
        pgcluster.stop(root / "cluster")
        shutil.rmtree(root, ignore_errors=True)


def _session(url: str, actor: str = "tester") -> Session:
    os.environ["MLOPS_ONCALL_ACTOR"] = actor  # isolated_env restores it after the test
    return Session(load_workspace(None), database_url=url)


def test_reads_show_the_last_known_state_marked_stale(own_cluster, cli_proc, monkeypatch):
    root, url = own_cluster
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", url)
    made = cli_proc("incident", "declare", "--title", "stale reads", "--severity", "SEV3", "--json")
    assert made.code == 0, made.err
    inc = made.json()["id"]
    assert cli_proc("incident", "note", inc, "read while it answered").code == 0
    fresh = {
        args: cli_proc(*args)
        for args in (
            ("incident", "show", inc),
            ("incident", "show", inc, "--json"),
            ("incident", "list"),
            ("incident", "timeline", inc, "--json"),
        )
    }
    assert all(r.code == 0 and r.out for r in fresh.values())

    pgcluster.stop(root)
    try:
        for args, was in fresh.items():
            now = cli_proc(*args)
            assert now.code == 0, now.err
            assert now.err.startswith("database unreachable: the last known state, as of ")
            assert now.err.rstrip().endswith("(stale)")
            if args == ("incident", "show", inc, "--json"):
                stale = now.json()
                assert stale.pop("stale") is True and stale.pop("as_of")
                assert stale == was.json()  # the same object, flagged
            else:
                assert now.out == was.out  # text, and a JSON list, exactly as last printed
        # options are part of what was read: a read never made is the one-line error
        never = cli_proc("incident", "timeline", inc, "--last", "1")
        assert never.code == 2 and never.out == "" and "Connection refused" in never.err
    finally:
        pgcluster.restart(root)
    # back online, reads are fresh again (no stale line)
    back = cli_proc("incident", "show", inc)
    assert back.code == 0 and back.err == "" and back.out == fresh[("incident", "show", inc)].out


def test_server_stopped_mid_incident(own_cluster, cli_proc, monkeypatch):
    root, url = own_cluster
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", url)
    alice, bob = {"MLOPS_ONCALL_ACTOR": "alice"}, {"MLOPS_ONCALL_ACTOR": "bob"}
    assert cli_proc("incident", "declare", "--title", "fraud p99", "--severity", "SEV2").code == 0
    assert cli_proc("incident", "note", "INC-0001", "before the outage", env=alice).code == 0

    pgcluster.stop(root)  # pg_ctl stop -m immediate: the network to the database is gone
    note = cli_proc("incident", "note", "INC-0001", "rolled back fraud-v7", env=alice)
    assert (note.code, note.out) == (0, "")
    assert note.err.splitlines() == [QUEUED.format(n=1)]
    ack = cli_proc("incident", "ack", "INC-0001", "--json", env=bob)
    assert ack.code == 0 and ack.err.splitlines() == [QUEUED.format(n=2)]
    shown = ack.json()
    assert (shown["queued"], shown["pending"]) == (True, 2)
    assert [(e["op"], e["incident"], e["actor"]) for e in shown["entries"]] == [
        ("ack", "INC-0001", "bob")
    ]
    status = cli_proc("incident", "status", "INC-0001", "mitigated", "--note", "v6 back", env=bob)
    assert status.code == 0 and status.err.splitlines() == [QUEUED.format(n=3)]

    # what cannot wait: a declaration (no id to hand out), and a read never made online
    declare = cli_proc("incident", "declare", "--title", "another", "--severity", "SEV3")
    assert declare.code == 2 and "declare cannot wait for it" in declare.err
    show = cli_proc("incident", "show", "INC-0001")
    assert show.code == 2 and show.out == ""
    assert show.err.startswith("error: database error at ") and "Connection refused" in show.err
    assert show.err.rstrip().endswith(
        "; the local outbox holds 3 pending write(s), delivered when the database returns"
    )
    assert cli_proc("db", "status").code == 2
    # a refused write is not queued: bad input still fails as it did
    bad = cli_proc("incident", "severity", "INC-0001", "SEV9")
    assert bad.code == 2 and "queued" not in bad.err
    listed = cli_proc("db", "outbox", "--json").json()["entries"]
    assert [(e["op"], e["actor"], e["state"]) for e in listed] == [
        ("note", "alice", "pending"),
        ("ack", "bob", "pending"),
        ("set_status", "bob", "pending"),
    ]

    pgcluster.restart(root)
    status_after = cli_proc("db", "status", "--json")
    assert status_after.code == 0, status_after.err
    assert "outbox" not in status_after.json()  # emptied: the key is only there when not
    assert status_after.err.splitlines() == ["delivered 3 queued writes from the local outbox"]

    events = json.loads(cli_proc("incident", "timeline", "INC-0001", "--json").out)
    replayed = [e for e in events if "outbox" in e["data"]]
    assert [(e["actor"], e["kind"]) for e in replayed] == [
        ("alice", "note"),
        ("bob", "milestone"),  # acknowledged
        ("bob", "status_changed"),  # triage -> investigating
        ("bob", "status_changed"),  # investigating -> mitigated
        ("bob", "milestone"),  # mitigated
    ]
    # the time each was typed, not delivered (the outbox's JSON shows milliseconds)
    captured = {e["op"]: e["captured_at"] for e in listed}
    assert [e["ts"][:23] + "Z" for e in replayed] == [
        captured["note"],
        *[captured["ack"]] * 2,
        *[captured["set_status"]] * 2,
    ]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    verify = cli_proc("incident", "verify", "INC-0001", "--json")
    assert verify.code == 0 and verify.json()["ok"] is True
    assert cli_proc("incident", "show", "INC-0001", "--json").json()["status"] == "mitigated"
    assert cli_proc("db", "outbox", "--json").json() == {"entries": []}


def test_a_replay_cut_short_after_the_server_has_it_is_not_applied_twice(pg_url):
    session = _session(pg_url, "alice")
    iid = session.incidents.declare("model drift", "SEV3").id
    writes = session.outbox
    writes.capture("note", iid, "queued while away")
    writes.capture("deploy_record", "fraud", "v8", "model", "succeeded")

    for entry in writes.box.entries():  # the server commits, then a crash: no delete
        writes.apply(entry)
    assert writes.counts()["pending"] == 2
    again = writes.deliver()
    assert [e.op for e in again.delivered] == ["note", "deploy_record"]
    assert again.refused == [] and writes.counts() == {"pending": 0, "undeliverable": 0}

    notes = [e for e in session.incidents.events(iid) if e.kind == "note"]
    assert [n.text for n in notes] == ["queued while away"]  # once, not twice
    assert [(d.service, d.version, d.actor) for d in session.deploys.list()] == [
        ("fraud", "v8", "alice")
    ]
    assert session.incidents.verify(iid).ok
    session.close()


def test_two_processes_delivering_at_once_apply_each_entry_once(pg_url):
    """The TUI's watcher and a command may both deliver: one at a time, each entry once, in
    the order typed."""
    import threading

    first, second = _session(pg_url, "erin"), _session(pg_url, "erin")
    iid = first.incidents.declare("label lag", "SEV3").id
    for n in range(6):
        first.outbox.capture("note", iid, f"queued {n}")
    threads = [threading.Thread(target=s.outbox.deliver) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    notes = [e.text for e in first.incidents.events(iid) if e.kind == "note"]
    assert notes == [f"queued {n}" for n in range(6)]
    assert first.outbox.counts() == {"pending": 0, "undeliverable": 0}
    assert first.incidents.verify(iid).ok
    first.close()
    second.close()


def test_an_entry_the_server_refuses_is_kept_with_its_reason(pg_url, cli_proc, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", pg_url)
    session = _session(pg_url, "bob")
    iid = session.incidents.declare("feature store timeouts", "SEV2").id
    session.outbox.capture("ack", iid)  # queued while away...
    session.outbox.capture("note", iid, "checked the feature store")
    session.incidents_as("carol").ack(iid)  # ...and meanwhile a teammate acknowledged it
    session.close()

    r = cli_proc("incident", "list")  # the next command delivers
    assert r.code == 0, r.err
    lines = r.err.splitlines()
    assert lines[0] == "delivered 1 queued write from the local outbox"
    assert lines[1].startswith(f"could not deliver queued ack on {iid} (captured ")
    assert "by bob): " + f"{iid} was already acknowledged at " in lines[1]
    kept = cli_proc("db", "outbox", "--json").json()["entries"]
    assert [(e["op"], e["state"]) for e in kept] == [("ack", "undeliverable")]
    assert "already acknowledged" in kept[0]["reason"]
    status = cli_proc("db", "status", "--json").json()
    assert status["outbox"] | {"oldest_pending": None} == {
        "pending": 0,
        "undeliverable": 1,
        "oldest_pending": None,
    }
    assert cli_proc("incident", "verify", iid).code == 0

    entry = kept[0]["id"]
    forgot = cli_proc("db", "outbox", "--forget", entry)
    assert (forgot.code, forgot.out) == (0, f"forgot outbox entry {entry}\n")
    again = cli_proc("db", "outbox", "--forget", entry)
    assert again.code == 1 and again.err.startswith(f"error: no undeliverable entry {entry} ")
    assert "outbox" not in cli_proc("db", "status", "--json").json()
    assert cli_proc("db", "outbox").out == "the outbox is empty\n"


def test_unreachable_is_told_from_refused_by_the_connection(pg_admin_url):
    from sqlalchemy.engine import make_url

    from mlops_oncall.store.db import open_store

    u = make_url(pg_admin_url)
    with pytest.raises(StoreError) as gone:
        open_store(str(u.set(port=1)))  # nothing listens there: refused
    assert gone.value.unreachable
    with pytest.raises(StoreError) as refused:
        open_store(str(u.set(username="nobody-here")))  # the server answered: no such role
    assert not refused.value.unreachable


def test_the_outbox_file_is_named_without_credentials(tmp_path):
    from mlops_oncall.store.outbox import outbox_path

    a = outbox_path("postgresql://alice:s3cret@db.example:5432/oncall", tmp_path)
    b = outbox_path("postgresql://bob:other@db.example:5432/oncall", tmp_path)
    assert a == b and "s3cret" not in str(a) and "alice" not in str(a)
    assert a != outbox_path("postgresql://alice@db.example:5432/other", tmp_path)
    assert Path(a).parent == tmp_path


async def test_the_tui_banner_while_the_database_is_down(own_cluster, tmp_path):
    from textual.widgets import DataTable, Input

    from mlops_oncall.ui.app import OncallApp
    from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, make_workspace
    from mlops_oncall.ui.screens.incident import IncidentScreen
    from mlops_oncall.ui.widgets.outbox import OutboxBanner
    from tests.ui.conftest import wait_for

    root, url = own_cluster
    os.environ["MLOPS_ONCALL_ACTOR"] = "dana"
    session = Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), database_url=url)
    inc = session.incidents.declare("GPU OOM on the ranker", "SEV1").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.ready and app.live_changes is not None, 30)
            app.open_incident(inc)
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
                30,
                "the incident screen",
            )
            screen = app.screen
            banner = screen.query_one(OutboxBanner)
            timeline = screen.query_one("#timeline", DataTable)
            shown = timeline.row_count
            assert not banner.has_class("-on")

            pgcluster.stop(root)
            await wait_for(pilot, lambda: banner.has_class("-on"), 30, "the banner")
            assert "Database unreachable: showing the last known state, stale since " in str(
                banner.render()
            )
            # a read that finds the database gone (the update cadence's) leaves the app up
            worker = screen.check_updates()
            await wait_for(pilot, lambda: worker.is_finished, 30, "the cadence read")
            assert worker.error is None and app.is_running
            note = screen.query_one("#note-input", Input)
            note.focus()
            note.value = "typed while the database was down"
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: "1 pending in the local outbox" in str(banner.render()),
                30,
                "the queued note in the banner",
            )
            assert timeline.row_count == shown  # the last known state stays on screen

            pgcluster.restart(root)
            await wait_for(pilot, lambda: not banner.has_class("-on"), 60, "the banner cleared")
            await wait_for(
                pilot,
                lambda: timeline.row_count == shown + 1,
                30,
                "the delivered note on the timeline",
            )
            row = timeline.get_row_at(timeline.row_count - 1)
            assert (str(row[2]), str(row[4])) == ("dana", "typed while the database was down")
        assert session.outbox.counts() == {"pending": 0, "undeliverable": 0}
        assert session.incidents.verify(inc).ok
    finally:
        session.close()


def test_a_server_that_never_answers_is_unreachable_after_the_connect_timeout(monkeypatch):
    """A partition drops packets instead of refusing: without libpq's connect_timeout a write
    would hang for minutes before it could be queued. A socket that listens (the kernel
    completes the handshake) but never answers stands in for it."""
    import socket

    pytest.importorskip("psycopg")
    from mlops_oncall.store import engine
    from mlops_oncall.store.db import open_store

    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 2)  # libpq's smallest
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(StoreError) as timed_out:
            open_store(f"postgresql://oncall@127.0.0.1:{port}/oncall")
    assert timed_out.value.unreachable
    assert str(timed_out.value).startswith("database error at ")


def test_a_queued_write_is_stored_redacted(tmp_path):
    """What goes into the outbox file is what the database would store: masked."""
    from mlops_oncall.clock import FixedClock
    from mlops_oncall.incidents.outbox import OfflineWrites
    from mlops_oncall.redact import Redactor
    from mlops_oncall.store.outbox import Outbox

    box = Outbox(tmp_path / "outbox-test.db")
    at = datetime.fromisoformat("2026-12-06T10:00:00Z")
    writes = OfflineWrites(box, None, clock=FixedClock(at), actor="alice", redactor=Redactor())
    entry = writes.capture("note", "INC-0003", "rotated it: password=hunter2hunter2")
    assert entry.incident == "INC-0003" and entry.captured_at == at
    assert b"hunter2hunter2" not in (tmp_path / "outbox-test.db").read_bytes()
    assert "password=" in box.entries()[0].args["args"][1]
    assert (tmp_path / "outbox-test.db").stat().st_mode & 0o077 == 0  # the user's only


def test_the_banner_line():
    from datetime import UTC

    from mlops_oncall.ui.widgets.outbox import outbox_banner_text

    down, oldest = (
        datetime.fromisoformat("2026-12-06T14:02:00Z"),
        datetime.fromisoformat("2026-12-06T14:03:30Z"),
    )
    none = {"pending": 0, "undeliverable": 0}
    assert outbox_banner_text(None, none, None, UTC) is None
    assert outbox_banner_text(down, none, None, UTC) == (
        "Database unreachable: showing the last known state, stale since 14:02"
    )
    assert outbox_banner_text(down, {"pending": 2, "undeliverable": 1}, oldest, UTC) == (
        "Database unreachable: showing the last known state, stale since 14:02 · 2 pending in "
        "the local outbox, since 14:03; delivered when it returns · 1 could not be delivered "
        "(mlops-oncall db outbox)"
    )
    assert outbox_banner_text(None, {"pending": 1, "undeliverable": 0}, oldest, UTC) == (
        "1 pending in the local outbox, since 14:03; delivering"
    )
