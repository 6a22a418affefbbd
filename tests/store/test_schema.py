"""The schema is what the migrations say: declaring the tables as SQLModel models changed no DDL.

The fixtures are the DDL (`sqlite_master`) written by the Core tables the models replaced, for
a fresh database and for the v1 fixture migrated to the latest version. A schema change needs
a migration, then new fixtures (written by `_ddl` below).
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Field, SQLModel

from mlops_oncall.store import models, tables
from mlops_oncall.store.db import open_store
from tests.conftest import FIXTURES

HERE = Path(__file__).parent / "fixtures"


def _ddl(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    finally:
        con.close()
    return "\n".join(
        f"-- {kind} {name} on {table}\n" + (f"{sql};\n" if sql else "-- (automatic)\n")
        for kind, name, table, sql in rows
    )


def test_a_fresh_database_has_the_recorded_ddl(tmp_path):
    db = tmp_path / "fresh.db"
    open_store(f"sqlite:///{db}").close()
    assert _ddl(db) == (HERE / "schema_fresh.sql").read_text()


def test_the_v1_fixture_migrates_to_the_recorded_ddl(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(FIXTURES / "db" / "v1.db", db)
    open_store(f"sqlite:///{db}").close()
    assert _ddl(db) == (HERE / "schema_from_v1.sql").read_text()


def test_the_core_view_is_the_models_tables():
    assert tables.Incident is models.Incident.__table__
    assert tables.DrillInject is models.DrillInject.__table__
    assert set(tables.metadata.tables) == {
        "meta", "incident", "event", "role_assignment", "action_item", "deployment",
        "triage_runbook", "check_transition", "check_rollup", "check_minute", "risk", "risk_review",
        "risk_link", "drill", "drill_inject", "presence", "alert_group", "alert",
        "notify_delivery", "slo_episode",
    }  # fmt: skip


def test_another_sqlmodel_table_never_joins_the_schema():
    class Stranger(SQLModel, table=True):
        id: int | None = Field(default=None, primary_key=True)
        __tablename__ = "stranger_from_a_plugin"
        __table_args__ = {"extend_existing": True}

    assert "stranger_from_a_plugin" in SQLModel.metadata.tables
    assert "stranger_from_a_plugin" not in tables.metadata.tables


def test_a_record_round_trips_through_its_table(store):
    at = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    with store.write() as conn:
        conn.execute(tables.Meta.insert().values(key="probe", value="x"))
        row = conn.execute(tables.Meta.select().where(tables.Meta.c.key == "probe")).one()
    meta = models.Meta.model_validate(row._mapping)
    assert meta.model_dump() == {"key": "probe", "value": "x"}
    # timestamps come back aware and typed, as the records declare
    record = models.CheckRollup(check_id="c", hour=at, latency_counts="[]")
    assert record.polls == 0 and record.latency_sum_ms == 0.0 and record.hour == at
