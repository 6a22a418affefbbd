"""A fresh PostgreSQL database per test, on the throwaway cluster `.ci/run` starts.

Outside CI the tests skip, saying how to run them; on CI (`CI=true`) a missing server fails.
"""

from __future__ import annotations

import os
import uuid

import pytest

ENV = "MLOPS_ONCALL_TEST_PG"
HOW = (
    "the PostgreSQL tests need a server: run .ci/run, or start one with "
    "`python -m tests.pgcluster start DIR` and set MLOPS_ONCALL_TEST_PG to the URL it prints"
)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{ENV} is not set on CI: {HOW}")
        pytest.skip(HOW)
    return url


@pytest.fixture
def pg_url(pg_admin_url):
    """The URL of a new, empty database, dropped after the test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_admin_url.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, monkeypatch):
    """Each backend in turn, as MLOPS_ONCALL_DATABASE for the CLI processes; its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'oncall.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", url)
    return url
