"""The checks tests' local HTTP servers, for the monitor's minute roll-ups end to end."""

import pytest

from tests.checks.conftest import serve  # noqa: F401 - a fixture


@pytest.fixture
def ws_cli(cli, tmp_path, monkeypatch):
    """The in-process CLI in an empty workspace (slo import reads no store)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "oncall.db"))
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    return cli
