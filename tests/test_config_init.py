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


def test_init_refuses_to_overwrite(cli, tmp_path):
    assert cli("init", tmp_path).code == 0
    r = cli("init", tmp_path)
    assert r.code == 1
    assert r.err.strip().startswith(f"error: not overwriting {tmp_path / 'oncall.yaml'}")
    assert cli("init", tmp_path, "--force").code == 0
