"""The TUI opening a database whose schema it cannot use says why, and what to run, in its
boot notification: the same one line as the CLI."""

from __future__ import annotations

import sqlite3

import pytest

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.store import migrations
from mlops_oncall.ui.app import OncallApp
from tests.team.test_db import load_v1
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)


async def _boot_message(tmp_path, database: str) -> str:
    (tmp_path / "oncall.yaml").write_text(f"name: t\ndatabase: {database}\n", encoding="utf-8")
    session = Session(load_workspace(tmp_path / "oncall.yaml"))
    app = OncallApp(session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(
            pilot,
            lambda: any(n.message.startswith("could not start") for n in app._notifications),
            what="the boot error",
        )
        (message,) = [n.message for n in app._notifications if n.severity == "error"]
    return message


async def test_an_older_postgresql_schema_names_the_upgrade_command(pg_url, tmp_path):
    load_v1(pg_url)
    message = await _boot_message(tmp_path, pg_url)
    assert message == (
        f"could not start: the database {pg_url} is at schema version 1, older than this "
        f"mlops-oncall's ({migrations.LATEST}): run `mlops-oncall db upgrade` to upgrade it"
    )


async def test_a_newer_sqlite_schema_names_the_mlops_oncall_needed(tmp_path):
    db = tmp_path / "oncall.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '42'), ('written_by', '3.0.0')")
    con.commit()
    con.close()
    message = await _boot_message(tmp_path, "sqlite:///oncall.db")
    assert message == (
        f"could not start: the database is at schema version 42, newer than this mlops-oncall "
        f"understands ({migrations.LATEST}); upgrade mlops-oncall 3.0.0 or later"
    )
