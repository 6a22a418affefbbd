"""The incident screen's dialogs: the severity picker (starts on the current severity, does not
wrap, says what each one means, confirms a downgrade), validation that keeps a dialog open with
what was typed, and the questions mitigate and resolve ask when something is unfinished."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.modals import ConfirmModal, SeverityModal
from mlops_oncall.ui.screens.incident import IncidentScreen

from .conftest import FIXED_CHECKS, T0, make_workspace, wait_for

SIZE = (160, 45)


def _session(tmp_path: Path, extra: str = "") -> Session:
    cfg = make_workspace(tmp_path, FIXED_CHECKS)
    if extra:
        cfg.write_text(cfg.read_text() + extra)
    return Session(load_workspace(cfg), clock=FixedClock(T0))


async def _incident_screen(app, pilot, inc: str) -> IncidentScreen:
    await wait_for(pilot, lambda: app.ready, what="boot")
    app.open_incident(inc)
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
        what="incident screen",
    )
    return app.screen


def _severity(session, inc) -> str:
    return session.incidents.get(inc).row["severity"]


async def _until_severity(pilot, session, inc, sev) -> None:
    await wait_for(pilot, lambda: _severity(session, inc) == sev, what=f"severity {sev}")


async def test_severity_picker_starts_on_the_current_one_and_does_not_wrap(tmp_path):
    session = _session(tmp_path)
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            # the reported repro: v, Up, Enter on a SEV2 made it a SEV4
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            choices = app.screen.query_one("#choices", OptionList)
            assert choices.get_option_at_index(choices.highlighted).id == "SEV2"
            await pilot.press("up", "up", "up")  # stops at SEV1
            assert choices.get_option_at_index(choices.highlighted).id == "SEV1"
            await pilot.press("enter")  # an upgrade is not questioned
            await _until_severity(pilot, session, inc, "SEV1")
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            await wait_for(pilot, lambda: screen.view.row["severity"] == "SEV1", what="view")
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            choices = app.screen.query_one("#choices", OptionList)
            assert choices.get_option_at_index(choices.highlighted).id == "SEV1"
            await pilot.press(*["down"] * 6)  # stops at SEV4
            assert choices.get_option_at_index(choices.highlighted).id == "SEV4"
    finally:
        session.close()


async def test_a_downgrade_is_confirmed_and_each_severity_says_what_it_means(tmp_path):
    session = _session(
        tmp_path, "severities:\n  SEV3: Partial outage of one model, a fallback answers\n"
    )
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            choices = app.screen.query_one("#choices", OptionList)
            shown = {
                choices.get_option_at_index(i).id: str(choices.get_option_at_index(i).prompt)
                for i in range(choices.option_count)
            }
            assert "Partial outage of one model, a fallback answers" in shown["SEV3"]
            assert "user-facing outage" in shown["SEV1"]  # the defaults fill the rest
            assert "(now)" in shown["SEV2"]
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
            assert "Downgrade" in app.screen.title_text
            await pilot.press("escape")  # keep SEV2
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            await app.workers.wait_for_complete()
            assert _severity(session, inc) == "SEV2"
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
            await pilot.press("y")
            await _until_severity(pilot, session, inc, "SEV3")
    finally:
        session.close()
