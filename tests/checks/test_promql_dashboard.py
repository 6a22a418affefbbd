"""kind: prometheus checks on the TUI's dashboard: the row's state and error, and the detail panel
naming the failing series; a query without series stays unknown there, saying why.

The server is a threaded HTTP server on 127.0.0.1 answering Prometheus's documented instant-query
format (see test_promql.py for the source).
"""

from __future__ import annotations

import json

from textual.widgets import DataTable, Static

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import make_workspace
from tests.checks.servers import HTTPTestServer, Reply
from tests.ui.conftest import wait_for

CHECKS = """\
defaults: {{interval: 100ms, timeout: 1s, thresholds: {{down_after: 1, degraded_after: 1}}}}
checks:
  - id: fraud.queue
    kind: prometheus
    url: {url}
    query: vllm:num_requests_waiting
    conditions: ["[VALUE] <= 20"]
  - id: fraud.gone
    kind: prometheus
    url: {url}/gone
    query: vllm:num_requests_waiting
    conditions: ["[VALUE] <= 20"]
"""


def _answer(result: list) -> Reply:
    body = {"status": "success", "data": {"resultType": "vector", "result": result}}
    return Reply(200, json.dumps(body), {"Content-Type": "application/json"})


async def test_dashboard_shows_the_failing_series(tmp_path):
    series = {"__name__": "vllm:num_requests_waiting", "instance": "10.0.0.7:8000"}
    srv = HTTPTestServer(
        {
            "/api/v1/query": _answer([{"metric": series, "value": [1.5e9, "31"]}]),
            "/gone/api/v1/query": _answer([]),
        }
    ).start()
    session = Session(load_workspace(make_workspace(tmp_path, CHECKS.format(url=srv.url))))
    app = OncallApp(session, watch_every=None)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")

            def state(cid: str) -> str | None:
                view = app.views.get(cid)
                return view.state if view is not None and view.last is not None else None

            await wait_for(pilot, lambda: state("fraud.queue") == "down", what="queue down")
            await wait_for(pilot, lambda: state("fraud.gone") == "unknown", what="gone polled")
            table = app.screen.query_one("#checks-table", DataTable)
            await wait_for(
                pilot,
                lambda: str(table.get_cell("fraud.queue", "state")).startswith("✖ DOWN"),
                what="the row redrawn",
            )
            assert str(table.get_cell("fraud.queue", "error")).startswith("condition: ")
            assert str(table.get_cell("fraud.gone", "error")).startswith("no_data: the query")
            assert str(table.get_cell("fraud.gone", "state")) == "○ unknown?"
            table.move_cursor(row=table.get_row_index("fraud.queue"))
            await pilot.pause()
            detail = str(app.screen.query_one("#check-detail-body", Static).render())
            assert "PROMETHEUS" in detail
            assert (
                'vllm:num_requests_waiting{instance="10.0.0.7:8000"}: [VALUE] = 31, '
                "expected <= 20" in detail
            )
    finally:
        session.close()
        srv.stop()
