"""Counted nouns agree with their number on screen and in the CLI ("1 risk", "1 file")."""

from __future__ import annotations

import shutil
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "runbooks"  # the repository's, installed or not


def test_runbook_validate_counts_one_runbook_in_one_file(cli, tmp_path):
    shutil.copy(SHIPPED / "gpu-oom.yaml", tmp_path / "gpu-oom.yaml")
    r = cli("runbook", "validate", str(tmp_path))
    assert "1 runbook in 1 file: 0 errors, " in r.err


def test_runbook_validate_counts_zero_runbooks(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli("runbook", "validate", str(tmp_path / "empty"))
    assert "0 runbooks in 0 files" in r.err


def test_the_risk_register_title_counts_one_risk():
    from mlops_oncall.ui.screens.risks import register_title

    assert register_title(1, 1, "score") == (
        "Risk register · 1 risk · 1 review overdue · sorted by score"
    )
    assert (
        register_title(2, 0, "id") == "Risk register · 2 risks · 0 reviews overdue · sorted by id"
    )
