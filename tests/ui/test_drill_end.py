"""A drill in the TUI ends on screen: the DRILL banner goes from every screen, a toast says how
it ended, and the incident the responder declared is resolved by the drill."""

from __future__ import annotations

import yaml

from mlops_oncall.config import Config, Workspace
from mlops_oncall.drills.clock import DrillClock
from mlops_oncall.drills.fake.system import FakeSystem
from mlops_oncall.drills.runner import DrillRunner, RunnerStory
from mlops_oncall.drills.scenario import load_scenario
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.widgets.banner import DrillBanner

from .conftest import wait_for

SCENARIO = {
    "id": "short",
    "title": "A short drill",
    "runbook": "model-latency-spike",
    "service": "fraud-scoring",
    "duration": "20s",
    "injects": [{"at": "0s", "type": "message", "text": "You are on call."}],
}


async def test_the_tui_says_when_the_drill_ended_and_drops_its_banner(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    scenario, problems = load_scenario(path)
    assert scenario is not None, problems
    fake = FakeSystem().start()
    session = Session(
        Workspace(config=Config(name="drill")),
        database_url=f"sqlite:///{tmp_path / 'd.db'}",
        fake_control_url=fake.control_url,
        clock=DrillClock.for_mode("tui", 20.0),
    )
    try:
        runner = DrillRunner.from_session(session, scenario, fake, mode="tui", speed=20.0)
        ref = runner.begin()
        session.drill_id = ref
        # declared as the TUI declares in drill mode
        view = session.incidents.declare(
            "fraud slow", "SEV2", service="fraud-scoring", drill=True, drill_id=ref
        )
        app = OncallApp(
            session, story=RunnerStory(runner), drill_banner=f"DRILL {ref}", flush_every=0.05
        )
        async with app.run_test(size=(160, 45)) as pilot:
            banner = app.screen.query_one(DrillBanner)
            assert banner.has_class("-on")
            await wait_for(
                pilot,
                lambda: any(n.title == "Drill ended" for n in app._notifications),
                timeout=30,
                what="the drill's end",
            )
            await pilot.pause()
            assert not banner.has_class("-on")
            assert app.drill_banner_text is None
            ended = [n.message for n in app._notifications if n.title == "Drill ended"]
            assert ended == [f"{ref} ended. Its debrief: palette, Drill debrief."]
            told = [n.message for n in app._notifications]
            assert f"{view.id} resolved: {ref} ended (finished)" in told
            await wait_for(pilot, lambda: app.open_incidents == [], what="no open incident")
        assert session.incidents.get(view.id).row.status == "resolved"
        assert session.incidents.verify(view.id).ok
    finally:
        session.close()
        fake.stop()
