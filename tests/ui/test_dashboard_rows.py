"""With more checks than fit on screen, rows on screen redraw at once and the rest as they
scroll into view, always with the latest result."""

from __future__ import annotations

from textual.widgets import DataTable

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import T0, make_workspace, view
from mlops_oncall.ui.screens.dashboard import DashboardScreen

from .conftest import wait_for

MANY = "defaults: {interval: 30s}\nchecks:\n" + "".join(
    f"  - {{id: svc-{i:03d}.ready, url: 'http://127.0.0.1:9/{i}', group: g}}\n" for i in range(80)
)


def _state_cell(table: DataTable, check_id: str) -> str:
    return str(table.get_cell(check_id, "state"))


async def test_off_screen_rows_catch_up_when_scrolled_to(tmp_path):
    session = Session(load_workspace(make_workspace(tmp_path, MANY)), clock=FixedClock(T0))
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            dash = app.screen
            assert isinstance(dash, DashboardScreen)
            table = dash.query_one("#checks-table", DataTable)
            app.apply_views([view("svc-001.ready", "up"), view("svc-079.ready", "down")])
            await pilot.pause()
            assert _state_cell(table, "svc-001.ready") == "● up"  # on screen: drawn at once
            assert _state_cell(table, "svc-079.ready") == "○ unknown"  # off screen: later
            assert app.views["svc-079.ready"].state == "down"  # but known to the app
            table.move_cursor(row=table.row_count - 1)  # scroll to the bottom
            await wait_for(
                pilot,
                lambda: _state_cell(table, "svc-079.ready") == "✖ DOWN",
                what="the scrolled-to row to catch up",
            )
            # and the detail panel follows the cursor to it, with its latest result
            detail = dash.query_one("#check-detail-body")
            await wait_for(
                pilot, lambda: "svc-079.ready" in str(detail.content), what="the detail panel"
            )
            assert "DOWN" in str(detail.content)
    finally:
        session.close()
