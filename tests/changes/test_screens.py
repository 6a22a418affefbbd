"""The TUI's "what changed" lists show a registry deploy with the version before it."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from mlops_oncall.changes.tracks import Change, Move
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, make_workspace
from mlops_oncall.ui.screens.incident import IncidentScreen
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)


async def test_dashboard_and_incident_screen_show_previous_and_new(tmp_path):
    session = Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)))
    moved = Change("fraud", 4, (Move("version", 3, None), Move("alias:champion", 2, None)))
    session.deploys_as("mlflow").record(
        "fraud-scoring", "fraud/4", "model", "succeeded", notes=moved.notes()
    )
    session.deploys.record("fraud-scoring", "v9", "config", "succeeded", notes="canary skipped")
    inc = session.incidents.declare("Drift", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            dash = app.screen.query_one("#deploys-table", DataTable)

            def cells(table: DataTable, column: int) -> list[str]:
                return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]

            await wait_for(pilot, lambda: dash.row_count == 2, what="the deploys")
            assert cells(dash, 2) == [
                "v9 (config) ✓",  # a deploy by hand: as before
                "fraud/4 (@champion 2→4) (model) ✓",
            ]
            app.open_incident(inc)
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
                what="incident screen",
            )
            deps = app.screen.query_one("#incident-deploys", DataTable)
            await wait_for(pilot, lambda: deps.row_count == 2, what="the incident's deploys")
            assert cells(deps, 1) == ["v9", "fraud/4 (@champion 2→4)"]
    finally:
        session.close()
