"""The incident knows its checks: the incident screen shows the live state of its service's
checks, their crossings (recovery too) land on its timeline as they happen, the dashboard
says "INC-0001 open" instead of offering to declare, and declaring again asks first."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import make_workspace
from mlops_oncall.ui.messages import DataChanged
from mlops_oncall.ui.modals import ConfirmModal
from mlops_oncall.ui.screens.dashboard import DashboardScreen
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.widgets.checkstate import IncidentChecks
from tests.checks.servers import HTTPTestServer, Reply

from .conftest import wait_for

CHECKS = """\
defaults: {{interval: 100ms, timeout: 1s, thresholds: {{degraded_after: 1, down_after: 1, recover_after: 1}}}}
checks:
  - id: model-ready
    url: {url}/ready
    group: serving
    service: fraud-scoring
  - id: model-live
    url: {url}/live
    group: serving
    service: fraud-scoring
  - id: other
    url: {url}/live
    group: data
    service: feature-store
"""


@pytest.fixture
def server():
    healthy = {"ready": True}

    def ready(_handler):
        return Reply(200, "ok") if healthy["ready"] else Reply(503, "not ready")

    srv = HTTPTestServer({"/ready": ready, "/live": Reply(200, "ok")}).start()
    srv.healthy = healthy
    yield srv
    srv.stop()


def _state(app, cid):
    v = app.views.get(cid)
    return v.state if v is not None else None


def _transitions(session, inc):
    return [
        (e.data["check"], e.data["to"])
        for e in session.incidents.events(inc)
        if e.kind == "check_transition"
    ]


async def test_the_incident_knows_its_checks(tmp_path, server):
    cfg = make_workspace(tmp_path, CHECKS.format(url=server.url))
    session = Session(load_workspace(cfg))
    app = OncallApp(session, watch_every=None)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await wait_for(pilot, lambda: _state(app, "model-ready") == "up", what="up")
        inc = session.incidents.declare(
            "Fraud model not ready",
            "SEV2",
            service="fraud-scoring",
            declared_from_check="model-ready",
        ).id
        app.post_message(DataChanged())
        await wait_for(pilot, lambda: app.open_incident_for("model-ready"), what="listed")
        assert app.open_incident_for("other") is None  # another service
        server.healthy["ready"] = False
        await wait_for(pilot, lambda: _state(app, "model-ready") == "down", what="down")
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        t = dash.query_one("#checks-table", DataTable)
        t.move_cursor(row=t.get_row_index("model-ready"))
        await pilot.pause()
        detail = str(dash.query_one("#check-detail-body", Static).render())
        assert f"{inc} open: Fraud model not ready" in detail
        assert "press d to declare" not in detail
        # declaring a second incident for it asks first; esc keeps the one that is open
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        assert app.screen.title_text == f"{inc} is already open for model-ready"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back")
        assert len(session.incidents.list()) == 1
        # the crossing is on the incident's timeline, and the incident screen shows the state
        await wait_for(
            pilot,
            lambda: ("model-ready", "down") in _transitions(session, inc),
            what="the down crossing recorded",
        )
        app.open_incident(inc)
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen), what="incident")
        await wait_for(pilot, lambda: bool(app.screen.query(IncidentChecks)), what="mounted")
        widget = app.screen.query_one(IncidentChecks)

        def shown() -> str:
            return str(widget.render())

        await wait_for(pilot, lambda: "model-ready" in shown(), what="the checks panel")
        lines = shown().splitlines()
        assert lines[0].startswith("✖ DOWN  model-ready")
        assert "(declared from)" in lines[0]
        assert any("model-live" in line for line in lines)
        assert not any("other" in line for line in lines)
        # recovery: recorded and shown live, in the panel and the timeline
        server.healthy["ready"] = True
        await wait_for(
            pilot,
            lambda: ("model-ready", "up") in _transitions(session, inc),
            what="the recovery recorded",
        )
        await wait_for(pilot, lambda: shown().startswith("● up  model-ready"), what="the panel up")
        timeline = app.screen.query_one("#timeline", DataTable)

        def timeline_text() -> str:
            return "\n".join(
                " ".join(str(c) for c in timeline.get_row_at(i)) for i in range(timeline.row_count)
            )

        await wait_for(
            pilot,
            lambda: "model-ready: down → up" in timeline_text(),
            what="the recovery in the live timeline",
        )
        assert session.incidents.verify(inc).ok
    session.close()
