"""The schema version is recorded; old files upgrade on open; foreign or newer files are refused."""

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
