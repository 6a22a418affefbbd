"""Pilot tests of incident history (h): filters, search as you type, opening any incident; and
Enter on a timeline row showing the whole entry."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual.widgets import DataTable, Static

from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.screens.incidents import IncidentsScreen

from .conftest import wait_for


def _seed(session):
    """Besides the seeded history (INC-0001/2, resolved): one open, one open drill."""
    svc = session.incidents
    live = svc.declare("GPU memory climbing on the inference pool", "SEV3", service="gpu-inference")
    drill = svc.declare("[drill] latency after rollout", "SEV2", drill=True, drill_id="DRILL-0001")
    return live.id, drill.id


async def test_history_filters_searches_and_opens_any_incident(fixed_session):
    live, drill = _seed(fixed_session)
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.press("h")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentsScreen) and app.screen.loaded,
            what="incident history",
        )
        screen = app.screen
        assert screen.filter == "open" and screen.ids == [drill, live]
        await pilot.press("ctrl+f")  # all
        assert screen.ids == [drill, live, "INC-0002", "INC-0001"]
        await pilot.press("ctrl+f")  # resolved
        assert screen.ids == ["INC-0002", "INC-0001"]
        await pilot.press("ctrl+f")  # drills
        assert screen.ids == [drill]
        await pilot.press("ctrl+f", "ctrl+f")  # open, then all again
        assert screen.filter == "all"
        await pilot.press(*"recomm")  # search as you type: title, service, id
        assert screen.ids == ["INC-0002"]
        await pilot.press("enter")  # from the search box: the highlighted one
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
            what="the resolved incident",
        )
        assert app.screen.incident_id == "INC-0002"
        assert app.screen.view.row.status == "resolved"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the list")
        assert screen.ids == ["INC-0002"]  # the search and filter are kept
        for _ in "recomm":
            await pilot.press("backspace")
        await pilot.press("down")  # into the list
        table = screen.query_one("#incidents-list", DataTable)
        assert table.has_focus
        assert screen.ids[table.cursor_row] == "INC-0002"  # the cursor stayed on it
        await pilot.press("up", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
            what="the second incident",
        )
        assert app.screen.incident_id == live
        await pilot.press("h")  # back to the list it came from, not a second one
        await wait_for(pilot, lambda: app.screen is screen, what="the same list")
        assert sum(isinstance(s, IncidentsScreen) for s in app.screen_stack) == 1


async def test_history_says_when_nothing_matches(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.press("h")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentsScreen) and app.screen.loaded,
            what="incident history",
        )
        assert app.screen.ids == []  # the seeded ones are resolved
        hint = app.screen.query_one("#incidents-filter", Static).render()
        assert "No incidents match." in (hint.plain if isinstance(hint, Text) else str(hint))


async def test_enter_on_a_timeline_row_shows_the_whole_entry(fixed_session):
    from mlops_oncall.ui.timeline_entry import TimelineEntryModal

    svc = fixed_session.incidents
    view = svc.declare("fraud slow", "SEV2", service="fraud-scoring")
    long_note = "p99 at 1.4 s since 02:44; " * 12 + "END-OF-NOTE"
    fixed_session.clock.advance(timedelta(minutes=1))
    svc.note(view.id, long_note + " token=ghp_" + "a" * 36 + " \x1b]52;c;aGk=\x07")
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.open_incident(view.id)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.last_seq >= 4,
            what="incident",
        )
        table = app.screen.query_one("#timeline", DataTable)
        assert table.has_focus and table.cursor_row == table.row_count - 1  # the note
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, TimelineEntryModal) and app.screen.shown,
            what="the entry",
        )
        body = app.screen.query_one("#entry-body", Static).render()
        text = body.plain if isinstance(body, Text) else str(body)
        assert "END-OF-NOTE" in text and "#4" in text and "note" in text
        assert "ghp_" + "a" * 36 not in text  # masked when stored, and again when shown
        assert "\x1b" not in text and "\\x1b]52" in text  # shown, never sent
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen), what="closed")
        # a declared event's data, pretty-printed
        table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, TimelineEntryModal) and app.screen.shown,
            what="the first entry",
        )
        body = app.screen.query_one("#entry-body", Static).render()
        text = body.plain if isinstance(body, Text) else str(body)
        assert "declared" in text and '\n  "severity": "SEV2"' in text
