"""The schema version is recorded; old SQLite files upgrade on open (with a note), or with
`db upgrade`; foreign or newer files are refused."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from sqlalchemy import inspect

from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store import migrations
from mlops_oncall.store.db import open_store
from mlops_oncall.store.engine import StoreError
from tests.conftest import FIXTURES

V1 = FIXTURES / "db" / "v1.db"


def _schema(engine) -> dict[str, set[str]]:
    insp = inspect(engine)
    return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}


def test_fresh_database_is_at_the_latest_version(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert store.version == migrations.LATEST
    con = sqlite3.connect(tmp_path / "a.db")
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        migrations.LATEST
    )


def test_v1_fixture_upgrades_through_every_migration(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(V1, db)
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    con.close()
    store = open_store(f"sqlite:///{db}")
    assert store.version == migrations.LATEST
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert _schema(store.engine) == _schema(fresh.engine)
    svc = Incidents(store)
    # the data recorded by version 1 is intact and its chains still verify
    rows = svc.list()
    assert [r.title for r in rows] == ["feature store timeouts", "fraud p99 above SLO"]
    for r in rows:
        assert svc.verify(r.id).ok
    view = svc.get("INC-0001")
    assert view.triage is not None and view.triage.runbook.id == "model-latency-spike"
    # and the upgraded file takes new writes
    svc.note("INC-0001", "after upgrade")
    assert svc.verify("INC-0001").ok


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "new.db"
    open_store(f"sqlite:///{db}").close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as err:
        open_store(f"sqlite:///{db}")
    assert str(err.value) == (
        f"the database is at schema version 999, newer than this mlops-oncall understands "
        f"({migrations.LATEST}); upgrade mlops-oncall"
    )


def test_foreign_database_is_refused(tmp_path):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="has tables but no mlops-oncall schema version"):
        open_store(f"sqlite:///{db}")


def test_not_a_database(tmp_path):
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"cannot open the database .*junk\.db: "):
        open_store(f"sqlite:///{db}")


def test_an_older_sqlite_file_upgrades_on_open_and_says_so(tmp_path, cli_proc):
    """SQLite's choice (docs/team.md): one responder's file, upgraded on open with a note."""
    db = tmp_path / "old.db"
    shutil.copy(V1, db)
    env = {"MLOPS_ONCALL_DATABASE": str(db)}
    r = cli_proc("incident", "list", env=env)
    assert r.code == 0, r.err
    assert "fraud p99 above SLO" in r.out
    assert r.err == f"upgraded the database {db} from schema version 1 to {migrations.LATEST}\n"
    again = cli_proc("incident", "list", env=env)
    assert (again.code, again.err) == (0, "")


def test_an_older_schema_is_refused_when_upgrading_is_not_allowed(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(V1, db)
    heard = []
    with pytest.raises(StoreError) as err:
        open_store(f"sqlite:///{db}", upgrade=False, note=heard.append)
    assert str(err.value) == (
        f"the database {db} is at schema version 1, older than this mlops-oncall's "
        f"({migrations.LATEST}): run `mlops-oncall db upgrade` to upgrade it"
    )
    assert heard == []
    store = open_store(f"sqlite:///{db}", note=heard.append)  # SQLite's default: upgrade
    assert (store.found_version, store.version) == (1, migrations.LATEST)
    assert heard == [f"upgraded the database {db} from schema version 1 to {migrations.LATEST}"]
    store.close()


def test_db_status_and_upgrade_on_sqlite(tmp_path, cli_proc):
    db = tmp_path / "old.db"
    env = {"MLOPS_ONCALL_DATABASE": str(db)}
    missing = cli_proc("db", "status", "--json", env=env)
    assert missing.code == 0, missing.err
    assert missing.json() == {
        "url": str(db),
        "backend": "sqlite",
        "server_version": sqlite3.sqlite_version,
        "schema_version": None,
        "latest_version": migrations.LATEST,
        "state": "missing",
    }
    assert not db.exists()  # status creates nothing
    shutil.copy(V1, db)
    r = cli_proc("db", "status", env=env)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        f"database  {db}",
        f"backend   sqlite (SQLite {sqlite3.sqlite_version})",
        f"schema    version 1 (latest {migrations.LATEST}): older than this mlops-oncall's: "
        f"run `mlops-oncall db upgrade`",
    ]
    r = cli_proc("db", "upgrade", env=env)
    assert (r.code, r.err) == (0, "")
    assert r.out == f"upgraded the database {db} from schema version 1 to {migrations.LATEST}\n"
    r = cli_proc("db", "upgrade", "--json", env=env)
    assert r.json() == {
        "url": str(db),
        "backend": "sqlite",
        "from_version": migrations.LATEST,
        "to_version": migrations.LATEST,
        "action": "current",
    }
    assert cli_proc("db", "status", "--json", env=env).json()["state"] == "current"
    fresh = cli_proc("db", "upgrade", env={"MLOPS_ONCALL_DATABASE": str(tmp_path / "new.db")})
    assert fresh.out == (
        f"created the database {tmp_path / 'new.db'} at schema version {migrations.LATEST}\n"
    )


def test_db_upgrade_on_a_read_only_file_is_one_line(tmp_path, cli_proc):
    from tests.store.test_storage_errors import read_only

    db = tmp_path / "old.db"
    shutil.copy(V1, db)
    with read_only(db):
        r = cli_proc("db", "upgrade", env={"MLOPS_ONCALL_DATABASE": str(db)})
    assert r.code == 2 and r.out == "" and len(r.err.splitlines()) == 1
    assert "schema version 1 and needs upgrading" in r.err and "db upgrade" in r.err
