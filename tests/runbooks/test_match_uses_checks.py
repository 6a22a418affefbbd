"""`runbook match --check` reads the workspace's checks.yaml: the runbook a check names, and its service."""

from __future__ import annotations


def test_match_reads_the_checks_file(cli, tmp_path):
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    (tmp_path / "checks.yaml").write_text(
        "checks:\n  - id: scoring\n    url: http://127.0.0.1:9/ready\n    service: fraud-scoring\n"
        '    runbook: bad-model-rollout\n    headers: {X: "${env:UNSET_FOR_THIS_TEST}"}\n'
    )
    data = cli("runbook", "match", "--check", "scoring", "--json").json()
    assert data[0]["id"] == "bad-model-rollout"
    assert data[0]["reasons"][0] == "check scoring names this runbook"
    assert "written for service fraud-scoring" in data[0]["reasons"]
