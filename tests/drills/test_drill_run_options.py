"""drill run refuses option mixes it would silently ignore or mis-score: --speed with a headless
(virtual-time) run, --live at a speed other than 1, --live without --no-ui."""

from __future__ import annotations

import pytest
import yaml

SCENARIO = {
    "id": "opts",
    "title": "Options",
    "runbook": "model-latency-spike",
    "injects": [{"at": "0s", "type": "message", "text": "hi"}],
}


@pytest.fixture
def scenario(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "o.db"))
    path = tmp_path / "opts.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--no-ui", "--speed", "10"],
            "error: --speed has no effect with --no-ui: a headless drill runs on virtual time, "
            "as fast as it can (add --live to pace it in real time, at speed 1)",
        ),
        (
            ["--no-ui", "--live", "--speed", "2"],
            "error: --live paces the drill in real time for a responder elsewhere, so --speed "
            "must be 1 (drill time and wall-clock time would mix in the scores)",
        ),
        (["--live"], "error: --live goes with --no-ui (the TUI paces a drill itself)"),
    ],
)
def test_ignored_or_mixed_options_are_refused(cli, scenario, args, message):
    r = cli("drill", "run", scenario, *args)
    assert (r.code, r.err.strip(), r.out) == (2, message, "")


def test_no_drill_is_recorded_when_options_are_refused(cli, scenario):
    cli("drill", "run", scenario, "--no-ui", "--speed", "10")
    assert cli("drill", "history", "--json").json() == []


def test_speed_one_with_live_and_a_plain_headless_run_are_fine(cli, scenario):
    r = cli("drill", "run", scenario, "--no-ui")
    assert r.code == 0, r.err
