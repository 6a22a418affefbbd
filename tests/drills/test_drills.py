"""Drills: headless runs on the virtual clock against the real fake system, exact scores for
scripted responders, the game master's console, replay of a real incident, and drills kept
out of every incident metric."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import timedelta

import pytest
import yaml

from mlops_oncall.checks.config import load_checks
from mlops_oncall.config import Config, Workspace
from mlops_oncall.demo import write_checks
from mlops_oncall.drills.clock import DrillClock
from mlops_oncall.drills.fake.catalog import SERVICES
from mlops_oncall.drills.fake.system import FakeSystem
from mlops_oncall.drills.library import list_scenarios, shipped_dir
from mlops_oncall.drills.runner import DrillRunner
from mlops_oncall.drills.scenario import load_scenario
from mlops_oncall.runbooks.library import Library
from mlops_oncall.session import Session
from mlops_oncall.store.checks_history import transitions

QUICK = {
    "id": "quick",
    "title": "Quick latency drill",
    "runbook": "model-latency-spike",
    "service": "fraud-scoring",
    "duration": "4m",
    "injects": [
        {"at": "0s", "type": "message", "text": "You are on call."},
        {
            "at": "20s",
            "type": "fault",
            "target": "fraud-scoring",
            "fault": "latency",
            "params": {"ms": 2000},
            "expected_actions": ["acknowledge", "declare", "attach_runbook:model-latency-spike"],
            "contingency": {"after": "2m", "message": "Payments asks what is going on."},
        },
        {"at": "3m", "type": "clear", "target": "fraud-scoring", "expected_actions": ["resolve"]},
    ],
    "scoring": {
        "acknowledge_within": "1m",
        "declare_within": "1m",
        "mitigate_within": "3m",
        "runbook": "model-latency-spike",
        "steps": ["what-changed"],
    },
}


@pytest.fixture
def fake():
    system = FakeSystem().start()
    yield system
    system.stop()


@pytest.fixture
def drill_env(backend_url, tmp_path, fake):
    import urllib.request

    # warm each listener up: a first request on a busy machine can exceed the 250 ms warning
    for s in SERVICES:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(fake.url(s) + "/", timeout=5).close()
    checks_path = write_checks(
        tmp_path / "drill-checks.yaml", {s: fake.url(s) for s in SERVICES}, timeout="600ms"
    )
    checks, problems = load_checks(checks_path)
    assert checks is not None, problems
    ws = Workspace(config=Config(name="drills"))
    session = Session(ws, database_url=backend_url, clock=DrillClock.for_mode("headless"))
    yield session, checks
    session.close()


def _scenario(tmp_path, data=QUICK):
    path = tmp_path / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    sc, problems = load_scenario(path)
    assert sc is not None, problems
    return sc


def _runner(tmp_path, drill_env, fake, responder=None, data=QUICK, tell=None):
    session, checks = drill_env
    return DrillRunner.from_session(
        session,
        _scenario(tmp_path, data),
        fake,
        mode="headless",
        checks=checks,
        responder=responder,
        tell=tell,
    )


def test_headless_run_breaks_and_heals_the_checks_in_order(tmp_path, drill_env, fake):
    said = []
    runner = _runner(
        tmp_path, drill_env, fake, tell=lambda text, sev="information": said.append((sev, text))
    )
    result = runner.run()
    session, _ = drill_env
    moves = transitions(session.store, check_id="fraud.live")
    started = runner.clock.start
    offset = [(t.at - started).total_seconds() for t in moves]
    states = [t.to_state for t in moves]
    # it goes bad only after the fault (20s), reaches down, and recovers only after the clear (3m)
    first_bad = next(i for i, s in enumerate(states) if s in ("degraded", "down"))
    assert offset[first_bad] >= 20
    assert "down" in states[first_bad:]
    assert states[-1] == "up" and offset[-1] >= 180
    assert all(s != "up" for s in states[first_bad:-1])
    # the incident was declared at the first fault, flagged as a drill
    view = session.incidents.get(result["incidents"][0])
    assert view.row.is_drill is True and view.row.drill_id == "DRILL-0001"
    kinds = [e.kind for e in session.incidents.events(view.id)]
    assert "inject" in kinds and "check_transition" in kinds
    # the responder's name is on what they did, not on what the drill delivered or its checks saw
    actors = {e.kind: e.actor for e in session.incidents.events(view.id)}
    assert actors["declared"] == "tester"
    assert actors["inject"] == actors["drill_ended"] == "game_master"
    assert actors["check_transition"] == "monitor"
    # the contingency came, because nobody acknowledged
    assert ("warning", "Payments asks what is going on.") in said
    assert ("information", "You are on call.") in said


def _responder(plan):
    """A scripted responder: (drill second, action) pairs, each done once when its time comes."""
    done = set()

    def act(offset, runner):
        inc = runner.incident
        if inc is None:
            return
        svc = runner.incidents
        lib = Library.load([])
        for i, (when, what) in enumerate(plan):
            if i in done or offset < when:
                continue
            done.add(i)
            if what == "ack":
                svc.ack(inc)
            elif what.startswith("attach:"):
                svc.attach(inc, lib.get(what.split(":", 1)[1]).runbook)
            elif what.startswith("step:"):
                svc.step(inc, what.split(":", 1)[1], "done")
            elif what == "mitigate":
                svc.mitigate(inc)
            elif what == "resolve":
                svc.resolve(inc)

    return act


def test_score_on_time(tmp_path, drill_env, fake):
    plan = [
        (40, "ack"),
        (40, "attach:model-latency-spike"),
        (60, "step:what-changed"),
        (120, "mitigate"),
        (200, "resolve"),
    ]
    result = _runner(tmp_path, drill_env, fake, _responder(plan)).run()
    # the headless runner declared at the fault, as a game master: no points for the responder
    assert result["score"] == 80.0
    assert [t["passed"] for t in result["targets"]] == [True, False, True, True, True]
    assert [(a["action"], a["status"]) for a in result["actions"]] == [
        ("acknowledge", "done"),
        ("declare", "done"),
        ("attach_runbook:model-latency-spike", "done"),
        ("resolve", "done"),
    ]


def test_score_late(tmp_path, drill_env, fake):
    plan = [(150, "ack"), (150, "attach:model-latency-spike"), (220, "mitigate")]
    result = _runner(tmp_path, drill_env, fake, _responder(plan)).run()
    # declare (auto, at the fault) is the game master's; acknowledge took > 1m; mitigate > 3m;
    # runbook right; step never done
    assert [(t["target"], t["passed"]) for t in result["targets"]] == [
        ("acknowledge within", False),
        ("declare within", False),
        ("mitigate within", False),
        ("correct runbook attached", True),
        ("expected steps done", False),
    ]
    assert result["score"] == 20.0
    statuses = {a["action"]: a["status"] for a in result["actions"]}
    assert statuses["acknowledge"] == "late" and statuses["resolve"] == "missed"


def test_score_wrong_runbook(tmp_path, drill_env, fake):
    plan = [(30, "ack"), (30, "attach:gpu-oom"), (60, "mitigate")]
    result = _runner(tmp_path, drill_env, fake, _responder(plan)).run()
    runbook = next(t for t in result["targets"] if t["target"] == "correct runbook attached")
    assert runbook == {
        "target": "correct runbook attached",
        "key": "runbook",
        "weight": 1.0,
        "expected": "model-latency-spike",
        "attached": ["gpu-oom"],
        "passed": False,
    }
    # acknowledge only: the declaration was the game master's, and mitigate came with no
    # command, step or decision before it
    assert result["score"] == 20.0


def test_debrief_and_accepting_an_improvement(tmp_path, drill_env, fake):
    runner = _runner(tmp_path, drill_env, fake, _responder([(150, "ack"), (150, "attach:gpu-oom")]))
    runner.run()
    from mlops_oncall.drills.debrief import accept, debrief_markdown

    session, _ = drill_env
    text, items = debrief_markdown(session.drills, session.incidents, runner.drill_id)
    assert (
        "| acknowledge within | 1m | 2m 20s | FAIL |" in text
    )  # the fault at 20s, the ack at 160s
    assert "| correct runbook attached | `model-latency-spike` | `gpu-oom` | FAIL |" in text
    assert "## Hot wash" in text and "## Runbook steps skipped" in text
    assert items[0].text == "Practise to acknowledge within 1m (took 2m 20s)"
    item = accept(session.drills, session.incidents, runner.drill_id, 1)
    assert item.text == items[0].text and item.type == "process"


def test_drills_stay_out_of_metrics(tmp_path, drill_env, fake):
    from mlops_oncall.incidents.metrics import window_metrics

    session, _ = drill_env
    _runner(tmp_path, drill_env, fake, _responder([(30, "ack"), (60, "mitigate")])).run()
    real = session.incidents.declare("real one", "SEV3")
    session.incidents.ack(real.id)
    with session.store.read() as conn:
        m = window_metrics(conn)
    assert m["incidents"] == 1 and m["tta"]["count"] == 1


def test_game_master_fires_a_fault_early(tmp_path, drill_env, fake, cli, monkeypatch):
    """`drill control ... fire N` from a second terminal: the checks really go down."""
    import asyncio

    from mlops_oncall.checks.probe import Prober

    _, checks = drill_env
    # a live drill paces in real time: its session is built with a paced clock
    session = Session(
        Workspace(config=Config(name="live")),
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        clock=DrillClock.for_mode("live"),
    )
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", session.store.url.removeprefix("sqlite:///"))
    runner = DrillRunner.from_session(session, _scenario(tmp_path), fake, mode="live", speed=1.0)
    ref = runner.begin()
    t = threading.Thread(target=runner.run, daemon=True)
    t.start()
    try:
        r = cli("drill", "control", ref, "fire", "1")
        assert r.code == 0, r.err
        assert r.out.strip() == f"{ref}: fire delivered"

        async def probe():
            async with Prober(redactor=checks.redactor) as p:
                return await p.probe(checks.specs["fraud.ready"])

        assert asyncio.run(probe()).error_class == "timeout"
        again = cli("drill", "control", ref, "fire", "1")
        assert again.code == 1 and "inject 1 was already delivered" in again.err
        listed = cli("drill", "control", ref, "--json").json()
        assert listed["injects"][1]["source"] == "game_master"
        # the early inject is stamped in drill time: its time is the start plus its offset
        from sqlalchemy import select

        from mlops_oncall.store.tables import DrillInject

        di = DrillInject
        with session.store.read() as conn:
            fired = conn.execute(select(di.c.offset_s, di.c.at).where(di.c.number == 1)).one()
        assert fired.offset_s > 0
        assert abs((fired.at - runner.clock.start).total_seconds() - fired.offset_s) < 1e-3
        msg = cli("drill", "control", ref, "message", "The", "CEO", "is", "asking")
        assert msg.code == 0
    finally:
        runner.stop()
        t.join(10)
        session.close()
    assert not t.is_alive()


def test_replay_from_a_real_incident(tmp_path, drill_env, fake):
    from mlops_oncall.checks.state import Transition
    from mlops_oncall.drills.replay import scenario_from_incident
    from mlops_oncall.store.checks_history import record_transitions

    session, checks = drill_env
    svc = session.incidents
    now = svc.clock.now()
    t0 = now - timedelta(hours=2)

    def tr(frm, to, minutes, ec):
        return Transition(
            "fraud.live",
            frm,
            to,
            t0 + timedelta(minutes=minutes),
            t0,
            ec,
            "",
            {},
            t0,
            (),
            "fraud-scoring",
        )

    record_transitions(
        session.store,
        [
            tr("up", "down", 0, "timeout"),
            tr("down", "up", 2, None),
            tr("up", "down", 3, "connect"),
            tr("down", "up", 4, None),
        ],
    )
    inc = svc.declare(
        "fraud down twice",
        "SEV2",
        service="fraud-scoring",
        detected_at=t0,
        runbook=Library.load([]).get("model-latency-spike").runbook,
    )
    data = scenario_from_incident(svc, session.store, inc.id)
    kinds = [
        (i["type"], i.get("fault"), i["at"])
        for i in data["injects"]
        if i["type"] in ("fault", "clear")
    ]
    assert kinds == [
        ("fault", "latency", "30s"),
        ("clear", None, "150s"),
        ("fault", "refuse", "210s"),
        ("clear", None, "270s"),
    ]
    # it validates and, replayed, reproduces the order of the transitions
    sc = _scenario(tmp_path, data | {"duration": "6m"})
    replay_session = Session(
        Workspace(config=Config(name="replay")),
        database_url=f"sqlite:///{tmp_path / 'replay.db'}",
        clock=DrillClock.for_mode("headless"),
    )
    DrillRunner.from_session(replay_session, sc, fake, mode="headless", checks=checks).run()
    moves = [
        t
        for t in transitions(replay_session.store, check_id="fraud.live")
        if t.from_state != "unknown"
    ]
    states = [t.to_state for t in moves]
    # bad, recovered, bad again, recovered: the order of the real incident
    collapsed = [
        s for i, s in enumerate(states) if i == 0 or (s == "up") != (states[i - 1] == "up")
    ]
    assert [s == "up" for s in collapsed] == [False, True, False, True], states
    # and the spacing: the second failure starts a minute after the first recovery, as it did
    first_up = next(t.at for t in moves if t.to_state == "up")
    second_bad = next(t.at for t in moves if t.to_state != "up" and t.at > first_up)
    assert 40 <= (second_bad - first_up).total_seconds() <= 100
    replay_session.close()


def test_shipped_scenarios_validate_and_map_to_shipped_runbooks():
    entries, problems = list_scenarios(None)
    assert [str(p) for p in problems] == []
    assert len(entries) >= 6 and all(e.source == "shipped" for e in entries)
    lib = Library.load([])
    for e in entries:
        sc = e.scenario
        rb = lib.get(sc.runbook)
        assert rb is not None, sc.id
        steps = {s.id for s in rb.runbook.steps}
        assert set(sc.scoring.steps) <= steps, sc.id
        for inj in sc.injects:
            for a in inj.expected_actions:
                head, _, rest = a.partition(":")
                if head in ("step", "decide"):
                    assert rest.split(":")[0] in steps, (sc.id, a)
    if "site-packages" in str(shipped_dir()):
        assert shipped_dir().parts[-2:] == ("_data", "scenarios")


def test_drill_cli_list_schema_and_errors(cli, tmp_path):
    data = cli("drill", "list", "--json").json()
    assert {"latency-after-rollout", "cascading-feature-store"} <= {d["id"] for d in data}
    assert set(data[0]) == {
        "id",
        "title",
        "difficulty",
        "runbook",
        "injects",
        "duration",
        "file",
        "source",
    }
    import jsonschema

    schema = json.loads(cli("schema", "scenario").out)
    jsonschema.Draft202012Validator.check_schema(schema)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\ntitle: Bad\nrunbook: model-latency-spike\ninjects:\n  - at: 10s\n    type: fault\n    target: fraud-scoring\n    fault: drift\n"
    )
    r = cli("drill", "run", str(bad), "--no-ui")
    assert r.code == 2
    assert r.err.splitlines() == [
        f"{bad}:5:5: injects[0]: 'fraud-scoring' has no fault 'drift'; it accepts latency, errors, not_ready, refuse",
        "error: the scenario is invalid",
    ]
    bad.write_text(
        "id: bad\ntitle: Bad\nrunbook: model-latency-spike\ninjects:\n  - at: 10s\n    type: message\n    text: hi\n    expected_actions: [acknowlege]\n"
    )
    r = cli("drill", "run", str(bad), "--no-ui")
    assert r.err.splitlines()[0] == (
        f"{bad}:8:24: injects[0].expected_actions[0]: unknown expected action 'acknowlege' (did you mean "
        "'acknowledge'?); expected one of acknowledge, declare, attach_runbook:ID, step:ID, decide:STEP:CHOICE, "
        "mitigate, resolve, note, assign:ROLE"
    )
    unknown = cli("drill", "run", "no-such-drill", "--no-ui")
    assert unknown.code == 1 and unknown.err.strip().startswith(
        "error: unknown scenario 'no-such-drill'"
    )
    assert cli("drill", "debrief", "DRILL-0042").code == 1


def test_weekly_report_lists_the_drill_with_its_score_apart_from_incidents(
    tmp_path, drill_env, fake
):
    from datetime import timedelta as td

    from mlops_oncall.reports.weekly import build_context

    session, _ = drill_env
    runner = _runner(
        tmp_path, drill_env, fake, _responder([(40, "ack"), (40, "attach:model-latency-spike")])
    )
    result = runner.run()
    now = runner.clock.now()
    inputs = session.weekly_inputs() | {"clock": runner.clock}
    ctx = build_context(since=now - td(days=7), until=now + td(hours=1), **inputs)
    assert ctx["incidents"]["count"] == 0
    [drill] = ctx["drills"]
    assert (drill["drill"], drill["scenario"]) == ("DRILL-0001", "quick")
    assert drill["score_value"] == result["score"] and drill["score"] == f"{result['score']:g}%"
