"""Versioned schema migrations. The store records its version and upgrades on open.

A fresh database is created at the latest version in one go. An older file is upgraded one
step at a time, each step in its own transaction. The test suite keeps a database made by
version 1 (tests/fixtures/db/v1.db) and upgrades it through every step.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from mlops_oncall.store import tables
from mlops_oncall.store.engine import StoreError, write_tx

Migration = Callable[[Connection], None]


def _create(*tables_) -> Migration:
    """A step that adds whole tables (with their indexes) as they are defined now."""

    def step(conn: Connection) -> None:
        for table in tables_:
            table.create(conn)

    return step


def _v3(conn: Connection) -> None:
    # Plain DDL that SQLite and PostgreSQL both accept. The column names are written out, not
    # read from the table: a migration describes the schema as it was when it was written.
    for column in ("contributing_factors", "went_well", "went_wrong", "lucky"):
        conn.execute(text(f"ALTER TABLE incident ADD COLUMN {column} TEXT"))
    _create(tables.Risk, tables.RiskReview, tables.RiskLink)(conn)


def _v5(conn: Connection) -> None:
    columns = {
        "incident": [
            ("model_versions", "TEXT"),
            ("predictions_affected", "TEXT"),
            ("decisions_to_review", "TEXT"),
            ("labels_confirm_by", "TEXT"),
        ],
        "action_item": [("priority", "VARCHAR"), ("link", "VARCHAR")],
        "deployment": [
            ("rolled_back_to", "VARCHAR"),
            ("outcome_at", "VARCHAR"),
            ("hotfix_of", "INTEGER REFERENCES deployment (id)"),
            ("updated_at", "VARCHAR"),
        ],
        "risk": [("approver", "VARCHAR"), ("accepted_until", "DATE")],
    }
    for table, cols in columns.items():
        # a table an earlier step created as it is defined now (risk, by step 3) has them
        have = {c["name"] for c in inspect(conn).get_columns(table)}
        for name, ddl in cols:
            if name not in have:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))


# (version, what it does, the step). Version 1 is the first schema; it has no step.
MIGRATIONS: list[tuple[int, str, Migration | None]] = [
    (1, "incidents, timeline, roles, action items, deployments, triage", None),
    (
        2,
        "check history: transitions and hourly roll-ups",
        _create(tables.CheckTransition, tables.CheckRollup),
    ),
    (
        3,
        "postmortem lessons on incidents; the risk register",
        _v3,
    ),
    (4, "drills and their injects", _create(tables.Drill, tables.DrillInject)),
    (
        5,
        "ML impact fields, action item priority and link, deploy outcomes after the fact, "
        "tolerated risks' approver and expiry",
        _v5,
    ),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("meta"):
        return None
    row = conn.execute(
        select(tables.Meta.c.value).where(tables.Meta.c.key == "schema_version")
    ).first()
    return int(row[0]) if row else None


def _set_version(conn: Connection, version: int) -> None:
    meta = tables.Meta
    if conn.execute(select(meta.c.key).where(meta.c.key == "schema_version")).first():
        conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(version)))
    else:
        conn.execute(meta.insert().values(key="schema_version", value=str(version)))


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema; return the version now in place."""
    with write_tx(engine) as conn:
        version = current_version(conn)
        if version is None:
            if inspect(conn).get_table_names():
                raise StoreError(
                    "the database has tables but no mlops-oncall schema version; "
                    "is it another application's database?"
                )
            tables.metadata.create_all(conn)
            _set_version(conn, LATEST)
            return LATEST
    if version > LATEST:
        raise StoreError(
            f"the database is at schema version {version}, newer than this mlops-oncall "
            f"understands ({LATEST}); upgrade mlops-oncall"
        )
    for target, _what, step in MIGRATIONS:
        if target <= version:
            continue
        with write_tx(engine) as conn:
            if current_version(conn) != target - 1:  # another process upgraded meanwhile
                continue
            if step is not None:
                step(conn)
            _set_version(conn, target)
    return LATEST
