"""The drills written for the new runbooks load, name their runbook's steps and decisions, and
run headless to the end against the real fake system (virtual time, no responder)."""

from __future__ import annotations

import json

import pytest

NEW = {
    "llm-slow-tokens": "llm-token-latency",
    "registry-down-at-peak": "registry-outage-blocks-scaleup",
    "batch-backlog": "inference-backlog",
}


def test_drill_list_shows_each_with_its_runbook(cli):
    r = cli("drill", "list", "--json")
    assert r.code == 0, r.err
    listed = {d["id"]: d["runbook"] for d in json.loads(r.out)}
    assert {k: listed.get(k) for k in NEW} == NEW


@pytest.mark.parametrize("scenario", sorted(NEW))
def test_runs_headless_to_the_end(cli, tmp_path, monkeypatch, scenario):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "drill.db"))
    r = cli("drill", "run", scenario, "--no-ui", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out[r.out.index("{") :])
    assert out["scenario"] == scenario and len(out["incidents"]) == 1
    steps = next(t for t in out["targets"] if t["target"] == "expected steps done")
    assert steps["expected"] and steps["done"] == []  # nobody played: the steps are unscored
