"""`database:` in oncall.yaml: `${env:NAME}` is expanded (a password percent-encoded), and a
password written in clear is refused, located, without echoing it."""

from __future__ import annotations

import pytest

from mlops_oncall.config import load_workspace
from mlops_oncall.formats.problems import ProblemsError
from mlops_oncall.store.errors import StoreError


def _workspace(tmp_path, database: str):
    path = tmp_path / "oncall.yaml"
    path.write_text(f"name: team\ndatabase: {database}\n", encoding="utf-8")
    return load_workspace(path)


def test_env_references_are_expanded(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_ONCALL_DATABASE", raising=False)
    monkeypatch.setenv("PGPASS", "p@ss/w:rd")
    monkeypatch.setenv("PGHOST_NAME", "db.internal")
    ws = _workspace(tmp_path, "postgresql://oncall:${env:PGPASS}@${env:PGHOST_NAME}/team")
    # the password is percent-encoded, so '@', '/' and ':' in it do not move the host
    assert ws.database_url() == "postgresql://oncall:p%40ss%2Fw%3Ard@db.internal/team"


def test_an_unset_variable_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_ONCALL_DATABASE", raising=False)
    monkeypatch.delenv("PGPASS", raising=False)
    ws = _workspace(tmp_path, "postgresql://oncall:${env:PGPASS}@db/team")
    with pytest.raises(StoreError) as err:
        ws.database_url()
    assert str(err.value) == (
        "database: in oncall.yaml uses ${env:PGPASS}, which is not set; set it, or leave the "
        "password out and use PGPASSWORD or ~/.pgpass"
    )


def test_a_password_in_clear_is_refused(tmp_path):
    with pytest.raises(ProblemsError) as err:
        _workspace(tmp_path, "postgresql://oncall:hunter2@db/team")
    (problem,) = err.value.problems
    assert "a password written in clear" in str(problem) and "${env:NAME}" in str(problem)
    assert "hunter2" not in str(problem)
    assert problem.line == 2


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://oncall@db/team",  # PGPASSWORD or ~/.pgpass
        "postgresql://db/team",
        "sqlite:///oncall.db",
        "postgresql://oncall:${env:PGPASS}@db:5432/team",
    ],
)
def test_urls_without_a_clear_password_load(tmp_path, url):
    assert _workspace(tmp_path, url).config.database == url
