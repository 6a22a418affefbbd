"""runbook_context: what `runbook match --check` learns from checks.yaml."""

from __future__ import annotations

from mlops_oncall.checks.lookup import runbook_context
from mlops_oncall.config import load_workspace
from tests.checks.helpers import write


def test_runbook_and_service_of_named_checks(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_TOKEN", raising=False)
    (tmp_path / "oncall.yaml").write_text("checks: checks.yaml\n")
    write(
        tmp_path,
        """
        checks:
          - id: fraud
            preset: oip_v2
            base_url: http://models:8000
            model: fraud
            service: fraud-scoring
            runbook: model-latency-spike
            headers: {Authorization: "Bearer ${env:MODEL_TOKEN}"}
          - {id: drift, url: "http://dq/", service: data-quality}
        """,
    )
    ws = load_workspace(tmp_path / "oncall.yaml")
    named, services = runbook_context(ws, ["fraud.ready", "drift", "nope"], ["payments"])
    assert named == {"fraud.ready": "model-latency-spike"}
    assert services == ["payments", "fraud-scoring", "data-quality"]


def test_no_checks_file_yields_nothing(tmp_path):
    ws = load_workspace(None)
    assert runbook_context(ws, ["a"], ["s"]) == ({}, ["s"])
