"""`x` marks an action item done only once one is picked, after a confirmation, and is in the
footer (it used to mark the top item done from anywhere, unseen and unasked)."""

from __future__ import annotations

from textual.widgets import DataTable

from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.modals import ConfirmModal
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.widgets.lean_footer import LeanFooter

from .conftest import wait_for


def _incident(session) -> str:
    rows = session.incidents.list(drills=False)
    return next(r.id for r in rows if r.title == "Fraud model ready probe timing out")


async def test_x_needs_a_picked_item_and_a_yes(tmp_path):
    app = build_app(tmp_path)
    session = app.session
    incident = _incident(session)
    item = session.incidents.get(incident).actions[0]
    assert item.status == "open"
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.open_incident(incident)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
            what="incident",
        )
        screen = app.screen
        footer = screen.query_one(LeanFooter)
        await wait_for(
            pilot,
            lambda: "Item done" in [e[2] for e in footer._entries()],
            what="x offered in the footer",
        )
        # from the timeline, x picks nothing: it moves to the action items and says how
        await pilot.press("x")
        await pilot.pause()
        acts = screen.query_one("#actions", DataTable)
        assert acts.has_focus and not isinstance(app.screen, ConfirmModal)
        assert any("Pick the action item" in n.message for n in app._notifications)
        # on a picked item, x asks first; esc keeps it open
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back")
        await app.workers.wait_for_complete()
        assert session.incidents.get(incident).actions[0].status == "open"
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: session.incidents.get(incident).actions[0].status == "done",
            what="done",
        )
