"""The TUI in drill mode: a banner on every screen, injects breaking the fake system for real,
contingency messages, and incidents declared as drills."""

from __future__ import annotations

import asyncio

import yaml
from textual.widgets import DataTable

from mlops_oncall.checks.config import load_checks
from mlops_oncall.config import Config, Workspace
from mlops_oncall.demo import write_checks
from mlops_oncall.drills.clock import DrillClock
from mlops_oncall.drills.fake.catalog import SERVICES
from mlops_oncall.drills.fake.system import FakeSystem
from mlops_oncall.drills.runner import DrillRunner, RunnerStory
from mlops_oncall.drills.scenario import load_scenario
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.modals import DeclareModal
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.widgets.banner import DrillBanner

from .conftest import wait_for

SCENARIO = {
    "id": "tui-drill",
    "title": "Fraud model slows down",
    "runbook": "model-latency-spike",
    "service": "fraud-scoring",
    "duration": "10m",
    "injects": [
        {"at": "0s", "type": "message", "text": "You are on call for fraud-scoring."},
        {
            "at": "5s",
            "type": "fault",
            "target": "fraud-scoring",
            "fault": "latency",
            "params": {"ms": 1500},
            "expected_actions": ["acknowledge"],
            "contingency": {
                "after": "30s",
                "message": "Payments is asking about slow authorisations.",
            },
        },
    ],
    "scoring": {"acknowledge_within": "5m", "runbook": "model-latency-spike"},
}


async def test_drill_in_the_tui(tmp_path):
    fake = FakeSystem().start()
    try:
        checks_path = write_checks(
            tmp_path / "checks.yaml",
            {s: fake.url(s) for s in SERVICES},
            interval="300ms",
            timeout="500ms",
        )
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(SCENARIO))
        scenario, problems = load_scenario(path)
        assert scenario is not None, problems
        session = Session(
            Workspace(config=Config(name="drill")),
            database_url=f"sqlite:///{tmp_path / 'd.db'}",
            checks_file=checks_path,
            fake_control_url=fake.control_url,
            clock=DrillClock.for_mode("tui", 4.0),
        )
        runner = DrillRunner.from_session(session, scenario, fake, mode="tui", speed=4.0)
        ref = runner.begin()
        session.drill_id = ref  # incidents declared in this TUI are the drill's
        app = OncallApp(
            session,
            story=RunnerStory(runner),
            drill_banner=f"DRILL {ref} · {scenario.title}",
            flush_every=0.05,
        )
        async with app.run_test(size=(160, 45)) as pilot:
            banner = app.screen.query_one(DrillBanner)
            assert banner.has_class("-on") and "DRILL DRILL-0001" in str(banner.render())
            await wait_for(
                pilot,
                lambda: any("You are on call" in n.message for n in app._notifications),
                what="the opening message",
            )
            # the fault is injected for real: the model server's checks go down
            await wait_for(
                pilot,
                lambda: (
                    app.views.get("fraud.ready") is not None
                    and app.views["fraud.ready"].state == "down"
                ),
                timeout=30,
                what="fraud.ready down",
            )
            # nobody acknowledged within 30s of drill time: the contingency message shows
            await wait_for(
                pilot,
                lambda: any("Payments is asking" in n.message for n in app._notifications),
                timeout=30,
                what="the contingency",
            )
            table = app.screen.query_one("#checks-table", DataTable)
            table.move_cursor(row=table.get_row_index("fraud.ready"))
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="declare")
            assert "Declare a drill incident" in str(app.screen.query_one(".dialog-title").render())
            await pilot.press("ctrl+s")
            await wait_for(
                pilot,
                lambda: any(isinstance(s, IncidentScreen) for s in app.screen_stack),
                what="incident",
            )
            # the banner is on every screen
            assert app.screen.query_one(DrillBanner).has_class("-on")
        incident = session.incidents.list(drills=True)[0]
        assert incident.is_drill is True and incident.drill_id == ref
        assert session.incidents.list(drills=False) == []
        session.close()
    finally:
        fake.stop()


async def test_debrief_screen_accepts_an_improvement(tmp_path):
    from mlops_oncall.ui.screens.debrief import DebriefScreen

    fake = FakeSystem().start()
    try:
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(SCENARIO | {"duration": "1m"}))
        scenario, _ = load_scenario(path)
        checks_path = write_checks(
            tmp_path / "checks.yaml", {s: fake.url(s) for s in SERVICES}, timeout="500ms"
        )
        checks, _ = load_checks(checks_path)
        session = Session(
            Workspace(config=Config(name="drill")),
            database_url=f"sqlite:///{tmp_path / 'd.db'}",
            clock=DrillClock.for_mode("headless"),
        )
        runner = DrillRunner.from_session(session, scenario, fake, mode="headless", checks=checks)
        await asyncio.to_thread(runner.run)  # nobody acknowledges
        app = OncallApp(session, live=False)
        async with app.run_test(size=(150, 42)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            app.action_debrief()
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, DebriefScreen) and app.screen.items,
                what="debrief",
            )
            assert "acknowledge within" in app.screen.query_one("#debrief-markdown").source
            await pilot.press("enter")
            incident = session.incidents.list(drills=True)[0]
            from mlops_oncall.formats.refs import public_id

            ref = public_id(incident.id)
            await wait_for(
                pilot, lambda: session.incidents.get(ref).actions, what="the action item"
            )
        assert (
            session.incidents.get(ref).actions[0].text.startswith("Practise to acknowledge within")
        )
        session.close()
    finally:
        fake.stop()
