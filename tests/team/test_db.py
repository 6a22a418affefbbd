"""`db status` and `db upgrade` on a real PostgreSQL: the committed v1 database rebuilt there,
refused until upgraded, then upgraded to the DDL of a fresh database with its chains intact."""

from __future__ import annotations

import subprocess
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import MetaData, create_engine, select

from mlops_oncall.store import migrations
from tests.conftest import FIXTURES, console_script

pytestmark = pytest.mark.timeout(180)
V1 = FIXTURES / "db" / "v1.db"
LATEST = migrations.LATEST


@contextmanager
def another_database(admin_url: str):
    """A second empty database (the pg_url fixture gives one per test)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_v1(pg_url: str) -> None:
    """Version 1's schema, read from the committed v1 SQLite file (not from today's models),
    created on PostgreSQL and filled with the file's rows, as a team running v1 would have."""
    source = create_engine(f"sqlite:///{V1}")
    target = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = MetaData()
    schema.reflect(source)
    try:
        schema.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in schema.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(select(table))]
                if rows:
                    dst.execute(table.insert(), rows)
                if "id" in table.c:  # the serial counts on from the copied ids, as it would have
                    dst.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
    finally:
        source.dispose()
        target.dispose()


def ddl(url: str) -> dict[str, list]:
    """The schema as PostgreSQL describes it: columns, indexes and constraints."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, "
            "column_default FROM information_schema.columns WHERE table_schema = 'public' "
            "ORDER BY 1, 2"
        ).fetchall()
        indexes = conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "ORDER BY 1, 2"
        ).fetchall()
        constraints = conn.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = 'public' ORDER BY 1, 2"
        ).fetchall()
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


def meta(url: str, key: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
    return row[0] if row else None


@pytest.fixture
def v1_pg(pg_url, monkeypatch):
    load_v1(pg_url)
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", pg_url)
    return pg_url


def test_the_v1_database_is_refused_until_upgraded_then_matches_a_fresh_one(
    v1_pg, pg_admin_url, cli_proc
):
    r = cli_proc("incident", "list")
    assert r.code == 2 and r.out == ""
    # (errors go through the redactor, which masks a URL's user name too)
    masked = v1_pg.replace("postgres@", "***@", 1)
    assert r.err.splitlines() == [
        f"error: the database {masked} is at schema version 1, older than this mlops-oncall's "
        f"({LATEST}): run `mlops-oncall db upgrade` to upgrade it"
    ]
    assert meta(v1_pg, "schema_version") == "1"  # refused means untouched

    status = cli_proc("db", "status", "--json")
    assert status.code == 0, status.err
    shown = status.json()
    assert list(shown) == [
        "url", "backend", "server_version", "schema_version", "latest_version", "state"
    ]  # fmt: skip
    assert shown["backend"] == "postgresql" and shown["state"] == "older"
    assert (shown["schema_version"], shown["latest_version"]) == (1, LATEST)
    with psycopg.connect(v1_pg) as conn:
        assert shown["server_version"] == conn.execute("SHOW server_version").fetchone()[0]

    r = cli_proc("db", "upgrade")
    assert r.code == 0, r.err
    assert r.out == f"upgraded the database {v1_pg} from schema version 1 to {LATEST}\n"
    assert cli_proc("db", "upgrade").out == (
        f"the database {v1_pg} is already at schema version {LATEST}\n"
    )
    # the data version 1 recorded reads, its chains verify, and it takes new writes
    listed = cli_proc("incident", "list")
    assert listed.code == 0, listed.err
    assert "fraud p99 above SLO" in listed.out and "feature store timeouts" in listed.out
    for ref in ("INC-0001", "INC-0002"):
        r = cli_proc("incident", "verify", ref)
        assert r.code == 0, r.out + r.err
    assert cli_proc("incident", "note", "INC-0002", "after the upgrade").code == 0
    assert cli_proc("incident", "verify", "INC-0002").code == 0
    deploy = ("--service", "fraud-scoring", "--version", "v43", "--kind", "model")
    r = cli_proc("deploy", "record", *deploy, "--outcome", "succeeded", "--hotfix-for", "1")
    assert r.code == 0, r.err  # the serial ids go on after the copied rows

    with another_database(pg_admin_url) as fresh:
        r = cli_proc("db", "upgrade", "--json", env={"MLOPS_ONCALL_DATABASE": fresh})
        assert r.json()["action"] == "created", r.err
        assert ddl(v1_pg) == ddl(fresh)


def test_an_empty_database_is_created_at_the_latest_version_on_open(pg_url, cli_proc):
    env = {"MLOPS_ONCALL_DATABASE": pg_url}
    assert cli_proc("db", "status", "--json", env=env).json()["state"] == "empty"
    r = cli_proc("incident", "declare", "--title", "first", "--severity", "SEV3", env=env)
    assert r.code == 0, r.err
    assert meta(pg_url, "schema_version") == str(LATEST)
    assert cli_proc("db", "status", "--json", env=env).json()["state"] == "current"


def test_a_newer_schema_names_the_mlops_oncall_it_needs(pg_url, cli_proc):
    env = {"MLOPS_ONCALL_DATABASE": pg_url}
    assert cli_proc("incident", "list", env=env).code == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.execute("UPDATE meta SET value = '7.1.0' WHERE key = 'written_by'")
    for command in (("incident", "list"), ("db", "upgrade")):
        r = cli_proc(*command, env=env)
        assert r.code == 2
        assert r.err.splitlines() == [
            f"error: the database is at schema version 99, newer than this mlops-oncall "
            f"understands ({LATEST}); upgrade mlops-oncall 7.1.0 or later"
        ]
    assert cli_proc("db", "status", "--json", env=env).json()["state"] == "newer"


def test_a_failed_step_is_one_line_and_leaves_the_previous_version(v1_pg, cli_proc):
    with psycopg.connect(v1_pg, autocommit=True) as conn:  # step 3 adds this column
        conn.execute("ALTER TABLE incident ADD COLUMN lucky TEXT")
    r = cli_proc("db", "upgrade")
    assert r.code == 2 and r.out == ""
    assert r.err.splitlines() == [
        f'error: could not upgrade the database {v1_pg} to schema version 3: column "lucky" '
        f'of relation "incident" already exists; it is still at version 2'
    ]
    assert meta(v1_pg, "schema_version") == "2"
    with psycopg.connect(v1_pg) as conn:  # the step rolled back whole: no risk tables
        assert conn.execute("SELECT to_regclass('public.risk')").fetchone()[0] is None


def test_two_upgrades_at_once_take_turns(v1_pg):
    procs = [
        subprocess.Popen(
            [console_script(), "db", "upgrade", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _out, err in results]
    assert meta(v1_pg, "schema_version") == str(LATEST)


def test_the_password_is_never_printed(pg_url, cli_proc, tmp_path):
    # the throwaway cluster trusts local connections, so any password connects
    user, rest = pg_url.removeprefix("postgresql://").split("@", 1)
    (tmp_path / "oncall.yaml").write_text(
        f"database: postgresql://{user}:${{env:PGPASS}}@{rest}\n", encoding="utf-8"
    )
    env = {"MLOPS_ONCALL_DATABASE": "", "PGPASS": "Pg-S3cret/@:x"}
    config = ("--config", str(tmp_path / "oncall.yaml"))
    for args in (("db", "status"), ("db", "upgrade"), ("db", "status", "--json")):
        r = cli_proc(*config, *args, env=env)
        assert r.code == 0, r.err
        assert "S3cret" not in r.out + r.err
        assert f"postgresql://{user}:***@{rest}" in r.out
    assert meta(pg_url, "schema_version") == str(LATEST)
    # unreachable: one line, exit 2, still no password
    down = f"postgresql://{user}:${{env:PGPASS}}@127.0.0.1:1/x"
    (tmp_path / "oncall.yaml").write_text(f"database: {down}\n", encoding="utf-8")
    r = cli_proc(*config, "db", "status", env=env)
    assert r.code == 2 and len(r.err.splitlines()) == 1
    assert r.err.startswith("error: database error at ") and "S3cret" not in r.err
