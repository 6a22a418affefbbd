"""The TUI live from other terminals: another process's note shows on the incident screen, and
its new incident in the dashboard's open incidents, with no per-screen polling of the heads.
On SQLite (PRAGMA data_version) and on a real PostgreSQL (NOTIFY)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, make_workspace
from mlops_oncall.ui.screens.incident import IncidentScreen
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)
SIZE = (160, 45)
WAIT_S = 30  # a hang, not a speed limit


def _cells(table: DataTable, column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_another_terminal_shows_up_live(backend, request, tmp_path, cli_proc):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    session = Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), database_url=url)
    inc = session.incidents.declare("Ranker drift", "SEV2", service="fraud-scoring").id
    other = {"MLOPS_ONCALL_DATABASE": session.store.url, "MLOPS_ONCALL_ACTOR": "comms-lead"}
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready and app.live_changes is not None, WAIT_S)
            app.open_incident(inc)
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
                WAIT_S,
                "the incident screen",
            )
            screen = app.screen
            timeline = screen.query_one("#timeline", DataTable)
            r = cli_proc("incident", "note", inc, "status page updated", env=other)
            assert r.code == 0, r.err
            await wait_for(
                pilot,
                lambda: "status page updated" in _cells(timeline, 4),
                WAIT_S,
                "the other terminal's note on the timeline",
            )
            row = timeline.get_row_at(timeline.row_count - 1)
            assert (str(row[2]), str(row[4])) == ("comms-lead", "status page updated")
            assert _cells(timeline, 1) == [str(n) for n in range(1, screen.last_seq + 1)]

            r = cli_proc(
                "incident", "declare", "--title", "GPU OOM", "--severity", "SEV1", env=other
            )
            assert r.code == 0, r.err
            new = r.out.strip()
            await wait_for(
                pilot,
                lambda: new in [i["id"] for i in app.open_incidents],
                WAIT_S,
                "the new incident in the dashboard's open incidents",
            )
    finally:
        session.close()
