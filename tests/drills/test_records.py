"""The drill records service on a real SQLite file, the game master's console refusals, and a
runner built from its collaborators alone (no Session)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import Config, Workspace
from mlops_oncall.drills.clock import DrillClock
from mlops_oncall.drills.control import ControlRefused, listing, send
from mlops_oncall.drills.fake.client import FakeControl
from mlops_oncall.drills.fake.system import FakeSystem
from mlops_oncall.drills.records import Delivery, DrillRecords
from mlops_oncall.drills.runner import DrillRunner
from mlops_oncall.drills.scenario import Scenario
from mlops_oncall.formats.refs import drill_ref, parse_drill_ref
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.redact import Redactor
from mlops_oncall.session import Session
from mlops_oncall.store.db import open_store
from mlops_oncall.store.models import Drill, DrillInject

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SECRET = "s3cr3t-token-value-0123456789"
SCENARIO = Scenario.model_validate(
    {
        "id": "records",
        "title": "Records drill",
        "runbook": "model-latency-spike",
        "service": "fraud-scoring",
        "duration": "2m",
        "injects": [
            {"at": "10s", "type": "fault", "target": "fraud-scoring", "fault": "latency",
             "params": {"ms": 800}},
            {"at": "40s", "type": "message", "text": "Someone asks for an update."},
            {"at": "90s", "type": "clear", "target": "fraud-scoring"},
        ],
        "scoring": {"acknowledge_within": "1m"},
    }
)  # fmt: skip


@pytest.fixture
def store(backend_url):
    s = open_store(backend_url)
    yield s
    s.close()


@pytest.fixture
def records(store):
    return DrillRecords(store, FixedClock(T0 + timedelta(minutes=5)), Redactor([SECRET]), "gm")


def test_a_drill_is_begun_read_back_as_a_typed_record_and_finished(records):
    assert records.latest_id() is None and records.list() == [] and records.get(1) is None
    first = records.begin(SCENARIO, mode="headless", speed=1.0, started_at=T0)
    second = records.begin(
        SCENARIO, mode="live", speed=1.0, started_at=T0, control_url="http://127.0.0.1:1"
    )
    assert (first, second) == (1, 2) and records.latest_id() == 2
    drill = records.get(1)
    assert isinstance(drill, Drill)
    assert (drill.status, drill.mode, drill.actor, drill.started_at) == (
        "running",
        "headless",
        "gm",
        T0,
    )
    assert Scenario.model_validate_json(drill.scenario) == SCENARIO
    assert [d.id for d in records.list()] == [2, 1]  # newest first
    records.finish(1, {"score": 50.0, "targets": []})
    done = records.get(1)
    assert (done.status, done.score) == ("finished", 50.0)
    assert done.finished_at == T0 + timedelta(minutes=5)  # the records' clock
    assert json.loads(done.result) == {"score": 50.0, "targets": []}
    assert records.runs() == {
        "DRILL-0001": {"scenario": "records", "score": 50.0, "status": "finished"},
        "DRILL-0002": {"scenario": "records", "score": None, "status": "running"},
    }


def test_fail_marks_only_a_running_drill_and_redacts_the_reason(records):
    drill_id = records.begin(SCENARIO, mode="headless", speed=1.0, started_at=T0)
    assert records.fail(drill_id, f"ControlError: token {SECRET} refused", status="aborted")
    row = records.get(drill_id)
    assert row.status == "aborted"
    error = json.loads(row.result)["error"]
    assert SECRET not in error and error.startswith("ControlError: token ")
    # already ended: nothing changes
    assert not records.fail(drill_id, "again")
    assert records.get(drill_id).status == "aborted"


def test_a_numbered_inject_is_delivered_once_and_free_form_ones_are_kept_apart(records):
    drill_id = records.begin(SCENARIO, mode="live", speed=1.0, started_at=T0)
    at = T0 + timedelta(seconds=10)
    fault = Delivery("fault", 10.0, at, number=0, target="fraud-scoring", fault="latency")
    assert records.deliver(drill_id, fault)
    assert not records.deliver(drill_id, fault)  # the schedule after the game master fired it
    note = Delivery("message", 12.5, at, text="hello", source="game_master")
    assert records.deliver(drill_id, note) and records.deliver(drill_id, note)
    assert records.delivered(drill_id) == {0: 10.0}
    injects = records.injects(drill_id)
    assert all(isinstance(i, DrillInject) for i in injects)
    assert [(i.number, i.type, i.source) for i in injects] == [
        (0, "fault", "schedule"),
        (None, "message", "game_master"),
        (None, "message", "game_master"),
    ]
    assert json.loads(injects[0].params) == {}
    said = records.game_master_messages(drill_id)
    assert [(m.type, m.text) for m in said] == [("message", "hello"), ("message", "hello")]


def test_the_drills_incidents_are_found_by_its_public_id(store, records):
    drill_id = records.begin(SCENARIO, mode="headless", speed=1.0, started_at=T0)
    ref = drill_ref(drill_id)
    incidents = Incidents(store, clock=FixedClock(T0), actor="gm")
    assert records.incidents_of(ref) == [] and records.incident_of(ref) is None
    incidents.declare("real", "SEV3")
    incidents.declare("[drill] one", "SEV2", drill=True, drill_id=ref)
    incidents.declare("[drill] two", "SEV3", drill=True, drill_id=ref)
    assert records.incidents_of(ref) == ["INC-0002", "INC-0003"]
    assert records.incident_of(ref) == "INC-0002"
    assert records.incidents_of(drill_ref(drill_id + 1)) == []


def test_drill_ref_and_its_inverse():
    assert drill_ref(7) == "DRILL-0007" and drill_ref(12345) == "DRILL-12345"
    for typed in ("DRILL-0007", "drill-7", "drill7", " 7 "):
        assert parse_drill_ref(typed) == 7
    for bad in ("DRILL-0", "INC-0007", "DRILL-²", "DRILL-" + "9" * 20, ""):
        assert parse_drill_ref(bad) is None


def test_the_console_refuses_an_ended_drill_or_one_without_a_fake(records):
    ended = records.begin(SCENARIO, mode="headless", speed=1.0, started_at=T0)
    records.finish(ended, {"score": None})
    with pytest.raises(ControlRefused, match="DRILL-0001 is finished; only a running drill"):
        send(records, records.get(ended), "DRILL-0001", "message", ("hi",), now=T0)
    running = records.begin(SCENARIO, mode="tui", speed=2.0, started_at=T0)
    with pytest.raises(ControlRefused, match="DRILL-0002 has no fake system to control"):
        send(records, records.get(running), "DRILL-0002", "message", ("hi",), now=T0)
    assert records.injects(running) == []


def test_the_console_stamps_a_message_in_drill_time_and_lists_it(records):
    # a running drill at speed 2 with a fake whose control endpoint is never called for a message
    drill_id = records.begin(
        SCENARIO, mode="tui", speed=2.0, started_at=T0, control_url="http://127.0.0.1:9"
    )
    drill = records.get(drill_id)
    send(records, drill, "DRILL-0001", "message", ("token", SECRET), now=T0 + timedelta(seconds=30))
    with pytest.raises(ControlRefused) as refused:
        send(records, drill, "DRILL-0001", "fire", ("9",), now=T0)
    assert refused.value.usage and "from 0 to 2" in str(refused.value)
    injects, other = listing(records, drill)
    assert [i["delivered"] for i in injects] == [None, None, None]
    (said,) = other
    assert said["source"] == "game_master" and SECRET not in said["text"]
    assert said["at"] == T0 + timedelta(seconds=60)  # 30 s of wall time at speed 2
    (row,) = records.injects(drill_id)
    assert row.offset_s == 60.0


def test_a_runner_built_from_its_collaborators_alone(store):
    """No Session: the incidents stamp with the drill clock they were built with, so the
    timeline is in drill time, and the runner changes no other object's clock."""
    clock = DrillClock.for_mode("headless")
    incidents = Incidents(store, clock=clock, actor="responder")
    records = DrillRecords(store, clock, actor="gm")
    fake = FakeSystem().start()
    try:
        acked = []

        def responder(offset, runner):  # acknowledges at the message, 30 s after the fault
            if runner.incident and offset >= 40 and not acked:
                acked.append(incidents.ack(runner.incident))

        runner = DrillRunner(
            SCENARIO,
            FakeControl(fake.control_url, timeout=5),
            incidents=incidents,
            records=records,
            clock=clock,
            responder=responder,
        )
        result = runner.run()
    finally:
        fake.stop()
    assert incidents.clock is clock and records.clock is clock
    assert result["drill"] == "DRILL-0001" and result["incidents"] == ["INC-0001"]
    (target,) = result["targets"]
    assert target["key"] == "acknowledge" and target["seconds"] == 30.0 and target["passed"]
    drill = records.get(1)
    assert (drill.status, drill.score) == ("finished", 100.0)
    assert drill.finished_at == clock.start + timedelta(seconds=120)
    # every scheduled inject delivered at its drill second, on the virtual clock
    assert [(i.number, i.offset_s) for i in records.injects(1)] == [(0, 10.0), (1, 40.0), (2, 90.0)]
    declared = next(e for e in incidents.events("INC-0001") if e.kind == "declared")
    assert declared.ts == clock.start + timedelta(seconds=10)


def test_from_session_wants_a_session_built_with_the_drill_clock(tmp_path):
    ws = Workspace(config=Config(name="t"))
    plain = Session(ws, database_url=f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(TypeError, match=r"DrillClock\.for_mode"):
        DrillRunner.from_session(plain, SCENARIO, None, mode="headless")
    paced = Session(ws, database_url=f"sqlite:///{tmp_path / 'b.db'}", clock=DrillClock(2.0))
    with pytest.raises(TypeError, match="headless"):
        DrillRunner.from_session(paced, SCENARIO, None, mode="headless")
    runner = DrillRunner.from_session(paced, SCENARIO, None, mode="tui", speed=2.0)
    assert runner.clock is paced.clock and runner.records is paced.drills
    assert runner.incidents is paced.incidents
    paced.close()
    plain.close()
