"""Scenarios that cannot run are refused when they load, with file:line:col; a drill that fails
while running is recorded as failed, with the reason, never left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
import yaml

from mlops_oncall.config import Config, Workspace
from mlops_oncall.drills.clock import DrillClock
from mlops_oncall.drills.fake.client import ControlError, FakeControl
from mlops_oncall.drills.fake.system import FakeSystem
from mlops_oncall.drills.runner import DrillRunner
from mlops_oncall.drills.scenario import load_scenario
from mlops_oncall.session import Session
from tests.conftest import console_script

pytestmark = pytest.mark.timeout(60)

BASE = {
    "id": "broken",
    "title": "Broken drill",
    "runbook": "model-latency-spike",
    "injects": [
        {"at": "0s", "type": "message", "text": "You are on call."},
        {"at": "30s", "type": "fault", "target": "fraud-scoring", "fault": "latency"},
    ],
}


def _write(tmp_path, **changes) -> tuple:
    data = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if key.startswith("fault_"):
            data["injects"][1][key.removeprefix("fault_")] = value
        else:
            data[key] = value
    path = tmp_path / "scenarios" / "broken.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path, path.read_text().splitlines()


def _where(lines: list[str], text: str) -> tuple[int, int]:
    for n, line in enumerate(lines, 1):
        if text in line:
            return n, line.index(text) + 1
    raise AssertionError(f"{text!r} not in the file")


@pytest.mark.parametrize(
    ("params", "needle", "message"),
    [
        ({"ms": "banana"}, "banana", "parameter 'ms' of fault 'latency' must be a number"),
        ({"ms": 10**9}, "1000000000", "must be a number from 0 to 600000"),
        ({"ms": float("nan")}, ".nan", "must be a number"),
        ({"seconds": 3}, "seconds", "fault 'latency' has no parameter 'seconds'; its parameters: ms"),
    ],
)  # fmt: skip
def test_fault_params_are_validated_at_load(tmp_path, cli, params, needle, message):
    path, lines = _write(tmp_path, fault_params=params)
    sc, problems = load_scenario(path)
    assert sc is None
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1 and message in errors[0].message, errors
    assert (errors[0].line, errors[0].col) == _where(lines, needle)
    # `drill list` names it on stderr, located, and leaves it out
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    r = cli("drill", "list", "--json")
    assert r.code == 0
    assert "broken" not in [e["id"] for e in r.json()]
    line = next(x for x in r.err.splitlines() if "broken.yaml" in x)
    row, col = _where(lines, needle)
    assert line.startswith(f"{path}:{row}:{col}: injects[1].params.") and message in line
    # and `drill run` refuses it before starting anything
    r = cli("drill", "run", "--no-ui", str(path))
    assert r.code == 2
    assert r.err.splitlines()[-1] == "error: the scenario is invalid"
    assert "Traceback" not in r.err


def test_a_valid_fault_with_params_still_loads(tmp_path):
    path, _ = _write(tmp_path, fault_params={"ms": 2000})
    sc, problems = load_scenario(path)
    assert sc is not None, problems
    assert sc.injects[1].params == {"ms": 2000}


@pytest.mark.parametrize(
    ("changes", "needle", "path_text"),
    [
        ({"fault_at": "9000d"}, "9000d", "injects[1].at"),
        ({"fault_at": "25h"}, "25h", "injects[1].at"),
        ({"duration": "2d"}, "2d", "duration"),
    ],
)
def test_a_drill_that_cannot_finish_in_a_day_is_refused_at_load(
    tmp_path, changes, needle, path_text
):
    path, lines = _write(tmp_path, **changes)
    sc, problems = load_scenario(path)
    assert sc is None
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, errors
    p = errors[0]
    assert (p.line, p.col) == _where(lines, needle)
    assert path_text in str(p) and "at most 24h" in p.message


def test_contingency_past_a_day_is_refused(tmp_path):
    path, _ = _write(tmp_path, fault_contingency={"after": "30h", "message": "where are you?"})
    sc, problems = load_scenario(path)
    assert sc is None
    assert any("contingency.after" in str(p) and "at most 24h" in p.message for p in problems)


def _drill_rows(session):
    return [d.model_dump() for d in session.drills.list()]


def test_a_drill_whose_fake_system_is_gone_is_marked_failed(tmp_path):
    path, _ = _write(tmp_path)
    sc, problems = load_scenario(path)
    assert sc is not None, problems
    fake = FakeSystem().start()
    control = FakeControl(fake.control_url, timeout=5)
    fake.stop()  # its control endpoint now refuses connections: a real failure mid-drill
    session = Session(
        Workspace(config=Config(name="t")),
        database_url=f"sqlite:///{tmp_path / 'd.db'}",
        clock=DrillClock.for_mode("headless"),
    )
    runner = DrillRunner.from_session(session, sc, control, mode="headless")
    ref = runner.begin()
    with pytest.raises(ControlError, match="not reachable"):
        runner.run()
    (row,) = _drill_rows(session)
    assert row["status"] == "failed"
    assert row["finished_at"] is not None
    assert "not reachable" in json.loads(row["result"])["error"]
    session.close()
    assert ref == "DRILL-0001"


def test_history_and_debrief_show_a_failed_drill(tmp_path, cli, monkeypatch):
    test_a_drill_whose_fake_system_is_gone_is_marked_failed(tmp_path)
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "d.db"))
    hist = cli("drill", "history", "--json").json()
    assert [(d["id"], d["status"], d["score"]) for d in hist] == [("DRILL-0001", "failed", None)]
    debrief = cli("drill", "debrief", "DRILL-0001")
    assert debrief.code == 0, debrief.err
    assert "status failed" in debrief.out
    r = cli("drill", "debrief", "DRILL-0001", "--accept", "9" * 30)
    assert r.code == 1 and r.err.startswith("error: DRILL-0001 has no improvement item 9999")
    r = cli("drill", "control", "DRILL-0001", "message", "hello")
    assert (r.code, r.err.strip()) == (
        1,
        "error: DRILL-0001 is failed; only a running drill takes injects",
    )


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="POSIX signals")
def test_ctrl_c_during_a_live_drill_marks_it_aborted(tmp_path):
    """A real `drill run --no-ui --live` process, interrupted once it has started."""
    path, _ = _write(tmp_path)
    env = dict(os.environ, MLOPS_ONCALL_DATABASE=str(tmp_path / "live.db"))
    proc = subprocess.Popen(
        [console_script(), "drill", "run", "--no-ui", "--live", str(path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        first = proc.stderr.readline()  # written once the drill is recorded as running
        assert first.startswith("DRILL-0001 started"), first
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    session = Session(
        Workspace(config=Config(name="t")), database_url=f"sqlite:///{tmp_path / 'live.db'}"
    )
    (row,) = _drill_rows(session)
    session.close()
    assert row["status"] == "aborted"
    assert json.loads(row["result"]) == {"error": "interrupted"}


def test_a_drill_recorded_before_the_param_checks_still_loads(tmp_path, cli, monkeypatch):
    """The checks run when a file loads; a scenario stored with a drill keeps loading."""
    from mlops_oncall.drills.scenario import Scenario

    data = json.loads(json.dumps(BASE))
    data["injects"][1]["params"] = {"ms": "banana"}
    old = Scenario.model_validate(data)
    session = Session(
        Workspace(config=Config(name="t")),
        database_url=f"sqlite:///{tmp_path / 'old.db'}",
        clock=DrillClock.for_mode("headless"),
    )
    DrillRunner.from_session(session, old, None, mode="headless").begin()
    session.close()
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "old.db"))
    r = cli("drill", "debrief", "DRILL-0001")
    assert r.code == 0, r.err
    assert "status running" in r.out
