"""Shared fixtures: an isolated environment per test, the CLI in-process or as a subprocess, and
a database on each backend (a SQLite file; a fresh PostgreSQL database on the cluster `.ci/run`
starts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

PG_ENV = "MLOPS_ONCALL_TEST_PG"
PG_HOW = (
    "the PostgreSQL tests need a server: run .ci/run, or start one with "
    "`python -m tests.pgcluster start DIR` and set MLOPS_ONCALL_TEST_PG to the URL it prints"
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): runs on the sqlite param of backend_url only; the reason says why",
    )
    config.addinivalue_line(
        "markers", "both_backends: a reports test whose seeded week runs on SQLite and PostgreSQL"
    )


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the developer's config, cache, data dir or database."""
    monkeypatch.setenv("MLOPS_ONCALL_CACHE_DIR", str(tmp_path / "_cache"))
    monkeypatch.setenv("MLOPS_ONCALL_DATA_DIR", str(tmp_path / "_data"))
    monkeypatch.setenv("MLOPS_ONCALL_ACTOR", "tester")
    for var in ("MLOPS_ONCALL_CONFIG", "MLOPS_ONCALL_DATABASE", "MLOPS_ONCALL_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.chdir(tmp_path)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process (fast); returns Result(code, out, err)."""

    def run(*args: str) -> Result:
        from mlops_oncall.cli import main

        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def console_script() -> str:
    exe = Path(sys.executable).parent / "mlops-oncall"
    return str(exe) if exe.exists() else shutil.which("mlops-oncall") or "mlops-oncall"


@pytest.fixture
def cli_proc():
    """Run the installed console script as a real subprocess."""

    def run(
        *args: str, input: str | None = None, env: dict | None = None, timeout: float = 60
    ) -> Result:
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.run(
            [console_script(), *map(str, args)],
            capture_output=True,
            text=True,
            input=input,
            env=full_env,
            timeout=timeout,
        )
        return Result(p.returncode, p.stdout, p.stderr)

    return run


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The test cluster's URL; skips saying how to get one, or fails on CI (`CI=true`)."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set on CI: {PG_HOW}")
        pytest.skip(PG_HOW)
    return url


def _pg_admin(admin_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def pg_database(admin_url: str, template: str | None = None):
    """Create a uniquely named database (a copy of ``template`` if given); yield its URL; drop it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    _pg_admin(admin_url, f'CREATE DATABASE "{name}"{copy}')
    base, _, _ = admin_url.rpartition("/")
    yield f"{base}/{name}"
    _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_admin_url):
    """The URL of a new, empty database, dropped after the test."""
    yield from pg_database(pg_admin_url)


class _SharedPg:
    """One database at the latest schema for the whole run, emptied before each store test.

    Emptying it (DELETE from every table, children first, the sequences restarted and the meta
    rows put back) takes a few milliseconds; TRUNCATE takes about 0.09 s, and a fresh database
    or a copy of a migrated template about 0.3 s (PostgreSQL 15).
    """

    def __init__(self, url: str):
        import psycopg

        from mlops_oncall.store.models import Record

        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)
        self.tables = [t.name for t in reversed(Record.metadata.sorted_tables)]
        self.sequences = [
            r[0]
            for r in self.conn.execute(
                "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        ]
        self.meta = self.conn.execute("SELECT * FROM meta").fetchall()

    def empty(self) -> str:
        marks = ", ".join(["%s"] * len(self.meta[0])) if self.meta else ""
        with self.conn.transaction():
            # a store a test left in a transaction would hold its locks: say so, do not hang
            self.conn.execute("SET LOCAL lock_timeout = '10s'")
            for table in self.tables:
                self.conn.execute(f'DELETE FROM "{table}"')
            for sequence in self.sequences:
                self.conn.execute("SELECT setval(%s, 1, false)", (sequence,))
            for row in self.meta:
                self.conn.execute(f"INSERT INTO meta VALUES ({marks})", row)
        return self.url


@pytest.fixture(scope="session")
def pg_shared(pg_admin_url):
    from mlops_oncall.store.db import open_store

    for url in pg_database(pg_admin_url):
        open_store(url).close()
        shared = _SharedPg(url)
        yield shared
        shared.conn.close()


@pytest.fixture
def pg_store_url(pg_shared) -> str:
    """A PostgreSQL database at the latest schema with nothing in it (the run's shared one)."""
    return pg_shared.empty()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request, tmp_path):
    """A store's URL on each backend in turn: a SQLite file, then an empty PostgreSQL database
    at the latest schema. A test marked ``sqlite_only(reason)`` skips the PostgreSQL param."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'oncall.db'}"
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is not None:
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else marker.kwargs['reason']}")
    return request.getfixturevalue("pg_store_url")


def raw_sql(url: str, statement: str, *args) -> None:
    """Run one statement (``?`` placeholders) straight on the database behind a store's URL, as
    someone tampering with it would: no store, no retries, no NOTIFY."""
    if url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            con.execute(statement, args)
            con.commit()
        finally:
            con.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.replace("?", "%s"), args)
