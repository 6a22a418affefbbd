"""A drill ends its incidents when it ends, in every mode: a `drill_ended` event, then the
incident resolved (source drill), the chain still verifying, and the score unchanged by it."""

from __future__ import annotations

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
from mlops_oncall.drills.scoring import score_drill
from mlops_oncall.session import Session
from tests.conftest import console_script

pytestmark = pytest.mark.timeout(90)

SCENARIO = {
    "id": "ends",
    "title": "A drill that ends",
    "runbook": "model-latency-spike",
    "service": "fraud-scoring",
    "duration": "2m",
    "injects": [
        {"at": "0s", "type": "fault", "target": "fraud-scoring", "fault": "latency"},
        {"at": "0s", "type": "message", "text": "You are on call."},
        {"at": "1m", "type": "clear", "target": "fraud-scoring"},
    ],
    "scoring": {"mitigate_within": "1m"},
}


def _write(tmp_path, data=SCENARIO):
    path = tmp_path / "ends.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _session(db, **kw) -> Session:
    return Session(Workspace(config=Config(name="t")), database_url=f"sqlite:///{db}", **kw)


def _ended(session, ref: str):
    view = session.incidents.get(ref)
    kinds = [e.kind for e in session.incidents.events(ref)]
    return view, kinds


def test_a_headless_drill_resolves_its_incident(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "h.db"))
    r = cli("drill", "run", "--no-ui", str(_write(tmp_path)))
    assert r.code == 0, r.err
    assert "INC-0001 resolved: DRILL-0001 ended (finished)" in r.err
    incidents = cli("incident", "list", "--json").json()
    assert [(i["id"], i["status"]) for i in incidents] == [("INC-0001", "resolved")]
    assert cli("incident", "list", "--status", "open", "--json").json() == []
    session = _session(tmp_path / "h.db")
    view, kinds = _ended(session, "INC-0001")
    # never acknowledged: triage -> investigating -> resolved, after the drill_ended event
    assert kinds[kinds.index("drill_ended") :] == [
        "drill_ended",
        "status_changed",
        "status_changed",
        "milestone",
        "milestone",
    ]
    ended = next(e for e in session.incidents.events("INC-0001") if e.kind == "drill_ended")
    assert ended.data == {"drill": "DRILL-0001", "status": "finished", "reason": None}
    assert view.row.resolved_source == "drill"
    # the end does not count as the responder mitigating: the target stays missed
    (target,) = score_drill(session.drills, session.incidents, 1)["targets"]
    assert target["target"] == "mitigate within" and target["passed"] is False
    session.close()
    verify = cli("incident", "verify", "INC-0001")
    assert verify.code == 0, verify.out + verify.err


def test_a_failed_drill_resolves_its_incident_with_the_reason(tmp_path):
    sc, problems = load_scenario(_write(tmp_path))
    assert sc is not None, problems
    fake = FakeSystem().start()
    control = FakeControl(fake.control_url, timeout=5)
    session = _session(tmp_path / "f.db", clock=DrillClock.for_mode("headless"))

    def vanish(offset, runner):  # the fake system dies after the first fault
        if runner.incident and fake.running:
            fake.stop()

    runner = DrillRunner.from_session(session, sc, control, mode="headless", responder=vanish)
    with pytest.raises(ControlError, match="not reachable"):
        runner.run()
    view = session.incidents.get("INC-0001")
    assert view.row.status == "resolved"
    ended = next(e for e in session.incidents.events("INC-0001") if e.kind == "drill_ended")
    assert ended.data["status"] == "failed" and ended.data["reason"]
    assert session.incidents.verify("INC-0001").ok
    session.close()


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="POSIX signals")
def test_an_interrupted_live_drill_resolves_its_incident(tmp_path):
    path = _write(tmp_path, {**SCENARIO, "duration": "1h"})
    env = dict(os.environ, MLOPS_ONCALL_DATABASE=str(tmp_path / "live.db"))
    proc = subprocess.Popen(
        [console_script(), "drill", "run", "--no-ui", "--live", str(path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr.readline().startswith("DRILL-0001 started")
        # the message is delivered after the fault that declared the incident
        assert "You are on call." in proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    session = _session(tmp_path / "live.db")
    view = session.incidents.get("INC-0001")
    assert view.row.status == "resolved"
    ended = next(e for e in session.incidents.events("INC-0001") if e.kind == "drill_ended")
    assert ended.data == {"drill": "DRILL-0001", "status": "aborted", "reason": "interrupted"}
    assert session.incidents.verify("INC-0001").ok
    session.close()
