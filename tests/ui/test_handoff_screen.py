"""The hand-off screen: reached from the dashboard and the palette, the note shown, and the
hand-off recorded only after the confirmation."""

from __future__ import annotations

from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.modals import ConfirmModal
from mlops_oncall.ui.screens.dashboard import DashboardScreen
from mlops_oncall.ui.screens.handoff import HandoffScreen
from mlops_oncall.ui.widgets.lean_footer import LeanFooter

from .conftest import wait_for


def _handoffs(session) -> list:
    return [
        e
        for inc in session.incidents.list(status="open", drills=False)
        for e in session.incidents.events(inc.id)
        if e.kind == "handoff"
    ]


async def _open(app, pilot) -> HandoffScreen:
    await wait_for(pilot, lambda: app.ready, what="boot")
    assert isinstance(app.screen, DashboardScreen)
    footer = app.screen.query_one(LeanFooter)
    assert "Hand-off" in [e[2] for e in footer._entries()]  # the key is in the footer
    await pilot.press("s")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, HandoffScreen) and app.screen.context is not None,
        what="the hand-off note",
    )
    return app.screen


async def test_the_note_is_shown_and_recorded_after_confirmation(tmp_path):
    app = build_app(tmp_path)
    session = app.session
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        source = screen.query_one("#handoff-markdown").source
        assert source.startswith("# Shift hand-off\n")
        for heading in ("## Open incidents", "## Changes since", "## Checks failing"):
            assert heading in source
        open_ids = [i["id"] for i in screen.context["open_incidents"]]
        assert open_ids and all(i in source for i in open_ids)
        footer = screen.query_one(LeanFooter)
        await wait_for(
            pilot,
            lambda: "Record hand-off" in [e[2] for e in footer._entries()],
            what="ctrl+s offered in the footer",
        )

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirmation")
        await pilot.press("escape")  # keep things as they are
        await wait_for(pilot, lambda: app.screen is screen, what="back on the note")
        await app.workers.wait_for_complete()
        assert _handoffs(session) == []

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirmation")
        modal = app.screen
        assert all(i in "\n".join(modal.lines) for i in open_ids)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(_handoffs(session)) == len(open_ids), what="recorded")
        await wait_for(
            pilot,
            lambda: any("Recorded the hand-off" in str(n.message) for n in app._notifications),
            what="the confirmation",
        )
        # the note reloads from the hand-off just recorded
        await wait_for(
            pilot,
            lambda: screen.context["since_source"] == "last hand-off",
            what="the note from the recorded hand-off",
        )
        assert screen.context["last_handoff"]["by"] == session.actor
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
    session.close()


async def test_the_palette_opens_it(tmp_path):
    app = build_app(tmp_path)
    session = app.session
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.press("ctrl+p")
        await pilot.press(*"hand-off")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HandoffScreen), what="hand-off")
    session.close()
