"""The debrief says what happened: a target never reached is "not done" (not "took never"), and
"every target was met" only when there were targets."""

from __future__ import annotations

import yaml

from mlops_oncall.drills.debrief import improvements, no_items_line
from mlops_oncall.drills.scenario import load_scenario


def _scenario(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": "s",
                "title": "S",
                "runbook": "model-latency-spike",
                "injects": [{"at": "0s", "type": "message", "text": "hi"}],
            }
        )
    )
    sc, problems = load_scenario(path)
    assert sc is not None, problems
    return sc


def test_a_target_never_reached_is_not_done(tmp_path):
    result = {
        "targets": [
            {"target": "acknowledge within", "limit_seconds": 60, "seconds": None, "passed": False},
            {"target": "mitigate within", "limit_seconds": 300, "seconds": 420, "passed": False},
        ],
        "steps_skipped": [],
    }
    texts = [i.text for i in improvements(result, _scenario(tmp_path))]
    assert texts == [
        "Practise to acknowledge within 1m (not done)",
        "Practise to mitigate within 5m (took 7m)",
    ]


def test_every_target_was_met_only_with_targets():
    assert no_items_line({"targets": []}) == "None: this scenario sets no scoring targets."
    met = {"targets": [{"target": "declare within", "passed": True}]}
    assert no_items_line(met) == "None: every target was met."
