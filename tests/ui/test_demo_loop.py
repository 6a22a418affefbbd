"""The demo's whole loop in Pilot, against the real fake system: the story slows the model
server, the responder declares and works the runbook, the rollback step really rolls the fake
model back (fault cleared, v43 recorded rolled back), the checks recover, the incident is
mitigated and resolved, and its postmortem exports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import DataTable

from mlops_oncall.demo import DemoPlan
from mlops_oncall.formats.refs import public_id
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.modals import ConfirmModal, DeclareModal
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.screens.postmortem import PostmortemScreen
from mlops_oncall.ui.screens.triage import TriageScreen

from .conftest import wait_for

pytestmark = pytest.mark.timeout(180)


def _demo_app(tmp_path: Path, **kw) -> tuple[OncallApp, DemoPlan]:
    plan = DemoPlan(base=tmp_path / "demo", interval="300ms", **kw)

    def setup():
        return plan.session, plan.story, plan.prepare, plan.seed

    return OncallApp(setup=setup, fake_system=True, flush_every=0.05), plan


async def _press_and_confirm(app, pilot, key: str, done) -> None:
    """Press a key whose action may ask first (something unfinished): answer yes."""
    await pilot.press(key)
    await wait_for(pilot, lambda: done() or isinstance(app.screen, ConfirmModal), what=key)
    if isinstance(app.screen, ConfirmModal):
        await pilot.press("y")
    await wait_for(pilot, done, what=f"{key} recorded")


async def test_the_demo_rollback_step_heals_the_model_and_the_story_ends(tmp_path):
    app, plan = _demo_app(tmp_path, delay=0.2, step=1.0)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            fake, session = plan.fake, plan.session

            def state(check: str) -> str | None:
                v = app.views.get(check)
                return v.state if v else None

            # the story: v43 rolls out, the model server slows down, its check goes down
            await wait_for(pilot, lambda: state("fraud.ready") == "down", 60, "fraud down")
            table = app.screen.query_one("#checks-table", DataTable)
            table.move_cursor(row=table.get_row_index("fraud.ready"))
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="declare")
            await pilot.press("ctrl+s")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, TriageScreen) and app.screen.state is not None,
                what="triage",
            )
            triage = app.screen
            incident = triage.incident_id
            assert triage.state.runbook.id == "model-latency-spike"
            # what changed: v43, minutes ago -> a decision: roll it back first
            await pilot.press("d")
            await wait_for(
                pilot, lambda: triage.state.current == "deployed-in-window", what="decide"
            )
            await pilot.press("1")
            await wait_for(pilot, lambda: triage.state.current == "rollback", what="rollback")
            assert "latency" in fake.state()["services"]["fraud-scoring"]["faults"]
            await pilot.press("d")  # the rollback step, done
            # the fake model is really rolled back, and the deploy says so
            await wait_for(
                pilot,
                lambda: fake.state()["services"]["fraud-scoring"]["faults"] == {},
                what="the fault cleared",
            )
            v43 = next(
                d for d in session.deploys.list(service="fraud-scoring") if d.version == "v43"
            )
            assert (v43.outcome, public_id(v43.incident_id), v43.rolled_back_to) == (
                "rolled_back",
                incident,
                "v42",
            )
            assert v43.actor == "ci"  # the pipeline promoted it, not the responder
            # the checks recover on their own polls
            await wait_for(pilot, lambda: state("fraud.ready") == "up", 60, "fraud up")
            # mitigate and resolve from the incident screen
            await pilot.press("escape")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
                what="incident",
            )

            def status() -> str:
                return session.incidents.get(incident).row.status

            await _press_and_confirm(app, pilot, "a", lambda: status() == "investigating")
            await _press_and_confirm(app, pilot, "m", lambda: status() == "mitigated")
            await _press_and_confirm(app, pilot, "R", lambda: status() == "resolved")
            # the story ends by pointing at the postmortem
            await wait_for(
                pilot,
                lambda: any(
                    f"{incident} resolved. P on it opens the postmortem" in n.message
                    for n in app._notifications
                ),
                what="the story's last line",
            )
            await pilot.press("P")
            await wait_for(pilot, lambda: isinstance(app.screen, PostmortemScreen), what="pm")
            await wait_for(pilot, lambda: app.screen.context is not None, what="pm loaded")
            await pilot.press("ctrl+e")
            written = Path(os.environ["MLOPS_ONCALL_DATA_DIR"]) / "postmortems" / f"{incident}.md"
            await wait_for(pilot, written.exists, what="the exported postmortem")
            text = written.read_text()
            assert "v43" in text and "rolled_back" in text.replace(" ", "_")
    finally:
        plan.stop()
        plan.session.close()
