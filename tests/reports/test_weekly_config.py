"""oncall.yaml `weekly:` sets the change failure rate's RAG thresholds; bad values are located."""

from __future__ import annotations

import pytest

from mlops_oncall.config import load_workspace
from mlops_oncall.formats.problems import ProblemsError


def test_defaults_follow_the_dora_2024_clusters(tmp_path):
    (tmp_path / "oncall.yaml").write_text("name: x\n", encoding="utf-8")
    bands = load_workspace(tmp_path / "oncall.yaml").config.weekly.change_failure_rate
    assert (bands.amber_above, bands.red_above) == (0.2, 0.4)


def test_thresholds_from_oncall_yaml(tmp_path):
    (tmp_path / "oncall.yaml").write_text(
        "weekly:\n  change_failure_rate: {amber_above: 10%, red_above: 32.5%}\n", encoding="utf-8"
    )
    bands = load_workspace(tmp_path / "oncall.yaml").config.weekly.change_failure_rate
    assert (bands.amber_above, bands.red_above) == (0.1, 0.325)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{amber_above: 15}", "expected a percentage such as '20%', got 15"),
        ("{amber_above: 150%}", "expected a percentage such as '20%', got '150%'"),
        ("{amber_above: 30%, red_above: 20%}", "red_above must not be below amber_above"),
    ],
)
def test_bad_thresholds_are_located(tmp_path, value, message):
    path = tmp_path / "oncall.yaml"
    path.write_text(f"name: x\nweekly:\n  change_failure_rate: {value}\n", encoding="utf-8")
    with pytest.raises(ProblemsError) as err:
        load_workspace(path)
    text = str(err.value)
    assert f"{path}:3:" in text and "weekly.change_failure_rate" in text and message in text


def test_report_weekly_uses_the_workspace_thresholds(cli, week):
    (week.root / "oncall.yaml").write_text(
        "database: sqlite:///week.db\nweekly:\n  change_failure_rate: {amber_above: 10%, red_above: 24%}\n",
        encoding="utf-8",
    )
    r = cli("--config", week.root / "oncall.yaml", "report", "weekly")
    assert r.code == 0, r.err
    assert "- change failure rate 25% is above 24%\n" in r.out
    assert "AMBER: any SEV2 incident" in r.out and "a change failure rate above 10%" in r.out
