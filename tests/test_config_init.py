"""`mlops-oncall init` writes a starter workspace that validates, and never overwrites."""

from __future__ import annotations

import json


def test_init_writes_a_valid_workspace(cli, tmp_path):
    r = cli("init", tmp_path / "team")
    assert r.code == 0, r.err
    ws = tmp_path / "team"
    assert {p.name for p in ws.iterdir()} == {
        "oncall.yaml",
        "checks.yaml",
        "slos.yaml",
        "runbooks",
        "runbook.schema.json",
    }
    cfg = str(ws / "oncall.yaml")
    v = cli("--config", cfg, "runbook", "validate", "--json")
    assert v.code == 0 and v.json() == []
    listed = cli("--config", cfg, "runbook", "list", "--json").json()
    assert {"id": "example-model-down", "source": "workspace"}.items() <= next(
        d for d in listed if d["source"] == "workspace"
    ).items()
    c = cli("--config", cfg, "check", "validate")
    assert c.code == 0, c.err
    assert "model.ready" in c.out
    schema = json.loads((ws / "runbook.schema.json").read_text())
    assert schema["title"] == "mlops-oncall runbook"
    slos = cli("--config", cfg, "slo", "status", "--json")
    assert slos.code == 0, slos.err
    assert [s["id"] for s in slos.json()["slos"]] == ["model-availability"]


def test_init_commented_sections_are_valid_once_uncommented(cli, tmp_path, monkeypatch):
    """The starter's commented examples (intake, alerts, changes, notify) load as written."""
    assert cli("init", tmp_path).code == 0
    cfg = tmp_path / "oncall.yaml"
    lines = cfg.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# intake:"))
    uncommented = [
        line[2:]
        if i >= start and line.startswith("# ") and not line.startswith("# Status")
        else line
        for i, line in enumerate(lines)
    ]
    cfg.write_text("\n".join(uncommented) + "\n")
    monkeypatch.setenv("MLOPS_ONCALL_INTAKE_TOKEN", "t0ken-for-the-test")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x")
    r = cli("--config", str(cfg), "alert", "list", "--json")
    assert r.code == 0, r.err
    assert cli("--config", str(cfg), "changes", "sources", "--json").code == 0


def test_init_refuses_to_overwrite(cli, tmp_path):
    assert cli("init", tmp_path).code == 0
    r = cli("init", tmp_path)
    assert r.code == 1
    assert r.err.strip().startswith(f"error: not overwriting {tmp_path / 'oncall.yaml'}")
    assert cli("init", tmp_path, "--force").code == 0
