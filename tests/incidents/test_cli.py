"""`incident` and `deploy` commands: exit codes, one-line errors, and pinned JSON shapes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import raw_sql

INCIDENT_KEYS = {
    "id",
    "title",
    "severity",
    "status",
    "service",
    "is_drill",
    "drill_id",
    "declared_from_check",
    "created_at",
    "updated_at",
    "milestones",
    "metrics",
    "roles",
    "narrative",
    "action_items",
    "runbook",
    "head",
}
SUMMARY_KEYS = {
    "id",
    "title",
    "severity",
    "status",
    "service",
    "is_drill",
    "created_at",
    "declared_at",
    "mitigated_at",
    "resolved_at",
}
EVENT_KEYS = {"seq", "ts", "actor", "kind", "text", "data", "prev_hash", "hash"}


@pytest.fixture(autouse=True)
def db(backend_url, monkeypatch):
    """Every command of this module on each backend; the database's URL."""
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    return backend_url


def declare(cli, *extra):
    r = cli("incident", "declare", "--title", "fraud p99 up", "--severity", "SEV2", *extra)
    assert r.code == 0, r.err
    return r.out.strip()


def test_declare_prints_the_id_and_json_shape(cli):
    assert declare(cli) == "INC-0001"
    r = cli(
        "incident", "declare", "--title", "drift", "--severity", "SEV3", "--service", "dq", "--json"
    )
    data = r.json()
    assert set(data) == INCIDENT_KEYS
    assert data["id"] == "INC-0002" and data["status"] == "triage" and data["service"] == "dq"
    assert set(data["milestones"]) == {
        "impact_started",
        "detected",
        "acknowledged",
        "declared",
        "mitigated",
        "resolved",
    }
    assert data["milestones"]["declared"]["source"] == "manual"
    assert data["milestones"]["declared"]["at"].endswith("Z")
    assert set(data["metrics"]) == {"ttd", "tta", "ttm", "ttr", "duration"}
    assert data["head"]["seq"] == 3 and len(data["head"]["hash"]) == 64


def test_full_cli_flow(cli):
    ref = declare(cli, "--service", "fraud-scoring", "--runbook", "model-latency-spike")
    assert cli("incident", "ack", ref).out.startswith("INC-0001 SEV2 investigating")
    assert cli("incident", "assign", ref, "--role", "commander", "--who", "alice").code == 0
    assert cli("incident", "note", ref, "p99", "at", "900ms").code == 0
    r = cli("incident", "step", ref, "what-changed", "done", "--note", "v42 at 01:50")
    assert r.out.startswith("next: deployed-in-window (step 2 of 13)")
    assert cli("incident", "decide", ref, "deployed-in-window", "2").code == 0  # no change
    r = cli("incident", "step", ref, "p99-by-workload", "done", "--json")
    t = r.json()
    assert set(t) == {
        "runbook",
        "current_step",
        "position",
        "steps",
        "complete",
        "path",
        "outcomes",
    }
    assert cli("incident", "mitigate", ref).code == 0
    assert (
        cli(
            "incident",
            "action",
            "add",
            ref,
            "--type",
            "prevent",
            "--owner",
            "bob",
            "--due",
            "2099-12-01",  # after the incident: an earlier due date is refused
            "Alert",
            "on",
            "p99",
        ).out.strip()
        == "action 1 added"
    )
    assert cli("incident", "action", "done", ref, "1").out.strip() == "action 1 done"
    assert (
        cli(
            "incident", "set", ref, "--summary", "A rollout doubled p99.", "--root-cause", "v42"
        ).code
        == 0
    )
    assert cli("incident", "resolve", ref).code == 0
    assert cli("incident", "close", ref).code == 0
    show = cli("incident", "show", ref, "--json").json()
    assert show["status"] == "closed" and show["roles"] == {"commander": "alice"}
    assert show["narrative"]["summary"] == "A rollout doubled p99."
    assert show["action_items"][0]["status"] == "done"
    assert show["runbook"]["current_step"] == t["current_step"] and t["position"] == 5
    tl = cli("incident", "timeline", ref, "--json").json()
    assert set(tl[0]) == EVENT_KEYS
    kinds = [e["kind"] for e in tl]
    assert kinds[:4] == ["declared", "milestone", "milestone", "runbook_attached"]
    assert kinds.count("field_set") == 2 and kinds[-1] == "status_changed"
    human = cli("incident", "timeline", ref).out.splitlines()
    assert len(human) == len(tl) and "note" in human[7]
    v = cli("incident", "verify", ref)
    assert v.code == 0 and v.out.startswith(f"INC-0001: chain intact, {len(tl)} events")
    lst = cli("incident", "list", "--json").json()
    assert set(lst[0]) == SUMMARY_KEYS


def test_export_is_json_with_the_head(cli, tmp_path):
    ref = declare(cli)
    cli("incident", "note", ref, "hello")
    out = tmp_path / "evidence.json"
    r = cli("incident", "export", ref, "-o", out)
    assert r.code == 0
    doc = json.loads(out.read_text())
    assert set(doc) == {
        "verification",
        "format",
        "incident",
        "hash_recipe",
        "event_columns",
        "events",
        "head",
    }
    assert doc["head"]["seq"] == 4 and doc["incident"]["id"] == "INC-0001"
    assert doc["events"][-1][-1] == doc["head"]["hash"]
    assert doc["events"][-1][4] == "hello"


def test_verify_names_the_bad_event(cli, db):
    ref = declare(cli)
    cli("incident", "note", ref, "hello")
    raw_sql(db, "UPDATE event SET text='bye' WHERE seq=4")
    r = cli("incident", "verify", ref)
    assert r.code == 1
    assert (
        r.out.splitlines()[0]
        == "INC-0001: chain broken at event 4: event 4 (note) was edited: its content does not match its hash"
    )
    assert "not checked: the stored summary (status, milestones, roles, ...)" in r.out
    j = cli("incident", "verify", ref, "--json").json()
    assert (j["ok"], j["bad_seq"]) == (False, 4)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("incident", "show", "INC-0042"), 1, "error: unknown incident 'INC-0042'"),
        (
            ("incident", "resolve", "INC-0001"),
            1,
            "error: cannot move INC-0001 from triage to resolved; allowed: investigating, declined",
        ),
        (
            ("incident", "severity", "INC-0001", "SEV5"),
            2,
            "error: unknown severity 'SEV5'; expected one of SEV1, SEV2, SEV3, SEV4",
        ),
        (
            ("incident", "note", "INC-0001", "x", "--at", "2099-01-01T00:00:00Z"),
            1,
            "is in the future",
        ),
        (
            ("incident", "note", "INC-0001", "x", "--at", "2001-01-01T00:00:00Z"),
            1,
            "error: 2001-01-01T00:00:00.000000Z is before INC-0001 began",
        ),
        (
            ("incident", "note", "INC-0001", "x", "--at", "tomorrowish"),
            2,
            "error: cannot read the time 'tomorrowish'; use ISO 8601 such as 2026-11-28T03:12:00Z, or '-10m'",
        ),
        (
            ("incident", "assign", "INC-0001", "--role", "boss", "--who", "x"),
            2,
            "error: unknown role 'boss'; expected one of commander, operations, communications, scribe",
        ),
        (
            ("incident", "attach", "INC-0001", "model-latency"),
            1,
            "error: unknown runbook 'model-latency' (did you mean 'model-latency-spike'?)",
        ),
        (
            ("incident", "step", "INC-0001", "x", "done"),
            1,
            "error: INC-0001 has no runbook attached; attach one with `incident attach INC-0001 RUNBOOK`",
        ),
        (
            ("incident", "milestone", "INC-0001", "found", "--at", "-1m"),
            2,
            "error: unknown milestone 'found'; expected one of impact_started, detected, acknowledged, declared, mitigated, resolved",
        ),
        (
            ("incident", "set", "INC-0001"),
            2,
            "error: give at least one of --summary, --impact, --root-cause, --trigger, --resolution, --authors, --postmortem-status",
        ),
        (
            ("incident", "list", "--status", "weird"),
            2,
            "error: unknown status 'weird'; expected open or one of",
        ),
        (
            ("incident", "action", "done", "INC-0001", "3"),
            1,
            "error: INC-0001 has no action item 3",
        ),
        (
            ("incident", "metrics", "--since", "whenever"),
            2,
            "error: cannot read --since 'whenever'; use a date (2026-11-23), a timestamp, or a duration ago such as 7d",
        ),
        (
            (
                "deploy",
                "record",
                "--service",
                "s",
                "--version",
                "v",
                "--kind",
                "model",
                "--outcome",
                "failed",
                "--incident",
                "INC-0009",
            ),
            1,
            "error: unknown incident 'INC-0009'",
        ),
    ],
)
def test_error_messages(cli, args, code, message):
    declare(cli)
    r = cli(*args)
    assert r.code == code, (r.out, r.err)
    assert len(r.err.strip().splitlines()) == 1
    assert (
        r.err.strip().startswith(message) if not message.startswith("is in") else message in r.err
    )
    assert "Traceback" not in r.err


@pytest.mark.parametrize("ref", ["INC-2147483648", "INC-9223372036854775807"])
def test_an_id_past_a_32_bit_integer_is_an_unknown_incident(cli, ref):
    # PostgreSQL's id columns are int4: the lookup binds BIGINT, never "integer out of range"
    declare(cli)
    for args in (("show", ref), ("note", ref, "x"), ("verify", ref)):
        r = cli("incident", *args)
        assert (r.code, r.err) == (1, f"error: unknown incident '{ref}'\n"), args


@pytest.mark.sqlite_only("a file that is no SQLite database")
def test_unusable_database_is_a_config_error(cli, tmp_path, monkeypatch):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"not a database at all" * 50)
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(bad))
    r = cli("incident", "list")
    assert r.code == 2
    assert r.err.startswith(f"error: cannot open the database {bad}: ")


def test_metrics_json_shape(cli):
    ref = declare(cli)
    cli("incident", "ack", ref)
    m = cli("incident", "metrics", "--json").json()
    assert set(m) == {
        "since", "until", "incidents", "by_severity", "ttd", "tta", "ttm", "ttr", "duration",
    }  # fmt: skip
    assert m["tta"]["count"] == 1 and set(m["tta"]) == {"count", "median", "p90"}


def test_deploy_record_and_list(cli):
    ref = declare(cli)
    r = cli(
        "deploy",
        "record",
        "--service",
        "fraud",
        "--version",
        "v42",
        "--kind",
        "model",
        "--outcome",
        "rolled_back",
        "--incident",
        ref,
        "--json",
    )
    d = r.json()
    assert set(d) == {
        "id",
        "service",
        "version",
        "kind",
        "outcome",
        "at",
        "incident",
        "actor",
        "notes",
        "rolled_back_to",
        "outcome_at",
        "hotfix_of",
        "updated_at",
    }
    assert d["incident"] == "INC-0001" and d["actor"] == "tester"
    lst = cli("deploy", "list", "--since", "2h", "--json").json()
    assert [x["version"] for x in lst] == ["v42"]
    assert cli("deploy", "list", "--service", "other", "--json").json() == []
    bad = cli(
        "deploy", "record", "--service", "s", "--version", "v", "--kind", "model", "--outcome", "ok"
    )
    assert bad.code == 2 and "'ok' is not one of" in bad.err


def test_second_terminal_sees_notes(cli, cli_proc, db):
    ref = declare(cli)
    r = cli_proc(
        "incident",
        "note",
        ref,
        "from another terminal",
        env={"MLOPS_ONCALL_DATABASE": db},
    )
    assert r.code == 0, r.err
    tl = cli("incident", "timeline", ref, "--json").json()
    assert tl[-1]["text"] == "from another terminal"


def test_a_drill_is_marked_once_in_the_list(cli, db):
    from mlops_oncall.config import Config, Workspace
    from mlops_oncall.session import Session

    session = Session(Workspace(config=Config(name="t")), database_url=db)
    session.incidents.declare("[drill] stale features", "SEV3", drill=True, drill_id="DRILL-1")
    session.incidents.declare("a real one", "SEV2")
    session.close()
    out = cli("incident", "list").out
    assert out.count("[drill]") == 1, out


def _tamper(db: str, statement: str) -> None:
    raw_sql(db, statement)


def test_export_of_a_tampered_incident_is_marked_or_refused(cli, db, tmp_path):
    ref = declare(cli)
    ok = json.loads(cli("incident", "export", ref).out)
    assert ok["verification"]["ok"] is True and ok["verification"]["banner"] is None
    assert next(iter(ok)) == "verification"
    _tamper(db, "UPDATE incident SET title = 'nothing happened'")
    r = cli("incident", "export", ref)
    assert r.code == 0
    warning = (
        "warning: INC-0001 fails `incident verify`: incident.title is 'nothing happened' but "
        "the timeline says 'fraud p99 up'; the document is marked"
    )
    assert r.err.strip() == warning
    doc = json.loads(r.out)
    assert next(iter(doc)) == "verification"  # the first thing a reader sees
    assert doc["verification"]["ok"] is False
    assert doc["verification"]["banner"].startswith("WARNING: INC-0001 FAILED VERIFICATION: ")
    out = tmp_path / "evidence.json"
    r = cli("incident", "export", ref, "--strict", "-o", out)
    assert r.code == 1 and not out.exists()
    assert r.err.strip() == (
        "error: INC-0001 fails `incident verify`: incident.title is 'nothing happened' but the "
        "timeline says 'fraud p99 up'; not writing the document (--strict)"
    )


def test_postmortem_of_a_tampered_incident_has_a_banner_or_is_refused(cli, db, tmp_path):
    ref = declare(cli)
    cli("incident", "ack", ref)
    clean = cli("postmortem", ref)
    assert clean.code == 0 and clean.out.startswith("# Postmortem") and clean.err == ""
    assert cli("postmortem", ref, "--strict").code == 0
    _tamper(db, "UPDATE incident SET acknowledged_at = NULL, severity = 'SEV4'")
    r = cli("postmortem", ref)
    assert r.code == 0
    assert r.err.strip().startswith("warning: INC-0001 fails `incident verify`: incident.severity")
    assert r.err.strip().endswith("(and 1 more); the document is marked")
    first = r.out.splitlines()[0]
    assert first.startswith("> **WARNING: INC-0001 FAILED VERIFICATION: incident.severity is ")
    r = cli("postmortem", ref, "--strict")
    assert (r.code, r.out) == (1, "")
    assert "not writing the document (--strict)" in r.err and len(r.err.splitlines()) == 1
    assert cli("postmortem", ref, "--json", "--strict").code == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("incident", "show", "99999999999999999999"), 1, "error: unknown incident '99999999999999999999'"),
        (("incident", "note", "INC-9223372036854775808", "x"), 1, "error: unknown incident 'INC-9223372036854775808'"),
        (("incident", "verify", "9223372036854775808"), 1, "error: unknown incident"),
        (("incident", "export", "99999999999999999999"), 1, "error: unknown incident"),
        (("postmortem", "99999999999999999999"), 1, "error: unknown incident"),
        (("incident", "action", "done", "INC-0001", "99999999999999999999"), 1,
         "error: INC-0001 has no action item 99999999999999999999"),
        (("incident", "list", "--limit", "1e30"), 2, "Error: Invalid value for '--limit'"),
        (("incident", "timeline", "INC-0001", "--last", "nan"), 2, "Error: Invalid value for '--last'"),
    ],
)  # fmt: skip
def test_huge_ids_and_limits_are_clean_errors(cli, args, code, message):
    declare(cli)
    r = cli(*args)
    assert r.code == code, (r.out, r.err)
    assert message in r.err and "Traceback" not in r.err and "Overflow" not in r.err


def test_huge_limits_mean_all(cli):
    declare(cli)
    assert len(cli("incident", "list", "--limit", "99999999999999999999", "--json").json()) == 1
    r = cli("incident", "timeline", "INC-0001", "--last", "99999999999999999999", "--json")
    assert r.code == 0 and len(r.json()) == 3


def test_declare_from_an_unknown_check_names_the_known_ones(cli, tmp_path, monkeypatch):
    r = cli("incident", "declare", "--title", "t", "--severity", "SEV3", "--from-check", "nope")
    assert (r.code, r.err.strip()) == (
        1,
        "error: unknown check 'nope': the workspace has no checks file (checks.yaml)",
    )
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    (tmp_path / "checks.yaml").write_text(
        "checks:\n"
        "  - {id: fraud.ready, url: 'http://127.0.0.1:9/ready'}\n"
        "  - {id: feature-store, url: 'http://127.0.0.1:9/health'}\n"
    )
    monkeypatch.setenv("MLOPS_ONCALL_CONFIG", str(tmp_path / "oncall.yaml"))
    r = cli(
        "incident", "declare", "--title", "t", "--severity", "SEV3", "--from-check", "fraud.redy"
    )
    assert (r.code, r.err.strip()) == (
        1,
        "error: unknown check 'fraud.redy' (did you mean 'fraud.ready'?); "
        "checks.yaml has: fraud.ready, feature-store",
    )
    assert cli("incident", "list", "--json").json() == []  # nothing was declared
    r = cli(
        "incident",
        "declare",
        "--title",
        "t",
        "--severity",
        "SEV3",
        "--from-check",
        "fraud.ready",
        "--json",
    )
    assert r.code == 0 and r.json()["declared_from_check"] == "fraud.ready"


def test_action_due_dates_take_the_dialog_forms(cli):
    """The TUI's action dialog takes today/tomorrow/+3d; the CLI took only YYYY-MM-DD."""
    ref = declare(cli)
    add = ("incident", "action", "add", ref, "--type", "prevent", "--owner", "bob")
    r = cli(*add, "--due", "+3d", "--json", "Alert", "on", "p99")
    assert r.code == 0, r.err
    from datetime import date, timedelta

    due = date.fromisoformat(str(r.json()["due"])[:10])
    declared = date.fromisoformat(cli("incident", "show", ref, "--json").json()["created_at"][:10])
    assert due - declared in (timedelta(days=3), timedelta(days=2), timedelta(days=4))
    r = cli(*add, "--due", "12/20", "Alert")
    assert r.code in (1, 2) and "use YYYY-MM-DD, today, tomorrow or +3d" in r.err
    r = cli(*add, "--due", "2001-01-01", "Alert")
    assert r.code in (1, 2) and "before the incident" in r.err
