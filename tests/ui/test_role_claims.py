"""The role dialog when someone else holds the role (perhaps taken a moment ago in another
terminal): the TUI names them and takes the role over only when told to."""

from __future__ import annotations

from pathlib import Path

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, make_workspace
from mlops_oncall.ui.modals import ConfirmModal, RoleModal
from mlops_oncall.ui.screens.incident import IncidentScreen

from .conftest import wait_for

SIZE = (160, 45)


def _session(tmp_path: Path) -> Session:
    return Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), clock=FixedClock(T0))


async def _ask_for_commander(pilot, app, screen, who: str) -> ConfirmModal:
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(app.screen, RoleModal), what="role dialog")
    await pilot.press(*who, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="take-over question")
    return app.screen


async def test_a_held_role_is_named_and_taken_over_only_when_confirmed(tmp_path):
    session = _session(tmp_path)
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    # another terminal: alice takes commander while this one is open
    session.incidents_as("alice").assign(inc, "commander")
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            app.open_incident(inc)
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
                what="incident screen",
            )
            screen = app.screen
            ask = await _ask_for_commander(pilot, app, screen, "bob")
            assert ask.title_text.startswith(f"{inc}'s commander is alice (since ")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            assert session.incidents.get(inc).roles == {"commander": "alice"}

            await _ask_for_commander(pilot, app, screen, "bob")
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: session.incidents.get(inc).roles == {"commander": "bob"},
                what="taken over",
            )
        last = session.incidents.events(inc)[-1]
        assert last.text == "commander: bob (taken over from alice)"
        assert last.data["take_over"] is True
    finally:
        session.close()
