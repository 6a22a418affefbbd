"""Each backend in turn for the team-mode CLI tests (pg_url, the PostgreSQL database per test, is
in tests/conftest.py: outside CI it skips saying how to run it; on CI a missing server fails)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, monkeypatch):
    """Each backend in turn, as MLOPS_ONCALL_DATABASE for the CLI processes; its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'oncall.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", url)
    return url
