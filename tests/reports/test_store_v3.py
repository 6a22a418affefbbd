"""Migration 3: lessons-learned columns and the risk register, on old files and new ones."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

from sqlalchemy import inspect

from mlops_oncall.clock import SYSTEM
from mlops_oncall.incidents.service import NARRATIVE_FIELDS, Incidents
from mlops_oncall.reports.postmortem import render_postmortem
from mlops_oncall.reports.risks import Risks
from mlops_oncall.store import migrations
from mlops_oncall.store.db import open_store
from tests.conftest import FIXTURES

from .conftest import postmortem_inputs

LESSONS = ("contributing_factors", "went_well", "went_wrong", "lucky")


def test_v3_is_the_step_that_adds_lessons_and_risks():
    assert migrations.LATEST >= 3
    assert [v for v, _what, _step in migrations.MIGRATIONS][:3] == [1, 2, 3]
    assert set(LESSONS) <= set(NARRATIVE_FIELDS)


def test_the_v1_fixture_upgrades_and_takes_lessons_and_risks(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(FIXTURES / "db" / "v1.db", db)
    store = open_store(f"sqlite:///{db}")
    insp = inspect(store.engine)
    assert set(LESSONS) <= {c["name"] for c in insp.get_columns("incident")}
    assert {"risk", "risk_review", "risk_link"} <= set(insp.get_table_names())
    svc = Incidents(store, actor="alice")
    svc.set_field("INC-0001", "lucky", "the canary held")
    assert svc.get("INC-0001").to_json()["narrative"]["lucky"] == "the canary held"
    assert svc.verify("INC-0001").ok
    r = Risks(store).add("canary blind", 3, 4, "bob", incidents=["INC-0001"])
    assert r["links"]["incidents"] == ["INC-0001"]
    # an incident written by version 1 renders: its lessons read as empty, then as written
    text = render_postmortem("INC-0002", **postmortem_inputs(store, SYSTEM))
    assert "### Where we got lucky\n\n_Not written yet." in text
    store.close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        migrations.LATEST
    )


def test_no_terminal_library_in_the_reports_or_their_commands():
    modules = [
        "mlops_oncall.reports.postmortem",
        "mlops_oncall.reports.weekly",
        "mlops_oncall.reports.register",
        "mlops_oncall.reports.candidates",
        "mlops_oncall.cli.postmortem",
        "mlops_oncall.cli.risk",
        "mlops_oncall.cli.report",
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
