"""Deploys live from other terminals: a deploy appends no event, so it is announced on its own
(NOTIFY 'deploy:<id>' on PostgreSQL; a moved data_version and a new deployments mark on SQLite)
and the TUI re-reads deploys only then, with no timer. On SQLite and a real PostgreSQL."""

from __future__ import annotations

import threading

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


def _session(backend, request, tmp_path) -> Session:
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    return Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), database_url=url)


def _cells(table: DataTable, column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_watcher_reports_a_deploy_and_not_as_an_incident(backend, request, tmp_path):
    session = _session(backend, request, tmp_path)
    inc = session.incidents.declare("Ranker drift", "SEV2").id
    deploys, incidents = threading.Event(), []
    watcher = session.watch(incidents.append, on_deploys=deploys.set).start()
    try:
        other = Session(session.workspace, database_url=session.store.url)
        try:
            other.deploys.record("fraud-scoring", "v44", "model", "succeeded")
            assert deploys.wait(WAIT_S), "the deploy was not reported"
            deploys.clear()
            other.deploys.update(1, outcome="rolled_back", incident=inc)
            assert deploys.wait(WAIT_S), "the deploy's update was not reported"
        finally:
            other.close()
        assert incidents == []  # no incident's head moved
    finally:
        watcher.stop()
        session.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_another_terminals_deploy_shows_up_live(backend, request, tmp_path, cli_proc):
    session = _session(backend, request, tmp_path)
    inc = session.incidents.declare("Ranker drift", "SEV2", service="fraud-scoring").id
    other = {"MLOPS_ONCALL_DATABASE": session.store.url, "MLOPS_ONCALL_ACTOR": "ops-lead"}
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready and app.live_changes is not None, WAIT_S)
            dash = app.screen.query_one("#deploys-table", DataTable)
            r = cli_proc(
                "deploy", "record", "--service", "fraud-scoring", "--version", "v44",
                "--kind", "model", "--outcome", "succeeded", env=other,
            )  # fmt: skip
            assert r.code == 0, r.err
            await wait_for(
                pilot,
                lambda: "fraud-scoring" in _cells(dash, 1),
                WAIT_S,
                "the other terminal's deploy on the dashboard",
            )
            assert str(dash.get_row_at(0)[2]).startswith("v44 (model)")

            app.open_incident(inc)
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
                WAIT_S,
                "the incident screen",
            )
            deps = app.screen.query_one("#incident-deploys", DataTable)
            await wait_for(pilot, lambda: _cells(deps, 3) == ["succeeded"], WAIT_S, "v44")
            r = cli_proc("deploy", "update", "1", "--outcome", "rolled_back", env=other)
            assert r.code == 0, r.err
            await wait_for(
                pilot,
                lambda: _cells(deps, 3) == ["rolled_back"],
                WAIT_S,
                "the rollback on the incident screen",
            )
    finally:
        session.close()


def test_the_benchmarks_poll_only_watcher_still_sees_appends(pg_url, tmp_path, monkeypatch):
    """MLOPS_ONCALL_BENCH_NO_LISTEN (bench/bench_team.py): no LISTEN, the heads poll alone
    reports the append (the benchmark's fallback-only latency measures this path)."""
    from mlops_oncall.store.live import NO_LISTEN_ENV, Watcher

    monkeypatch.setenv(NO_LISTEN_ENV, "1")
    session = Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), database_url=pg_url)
    inc = session.incidents.declare("Ranker drift", "SEV2").id
    seen = threading.Event()
    watcher = Watcher(session.store, lambda ids: seen.set(), fallback_s=0.2).start()
    try:
        session.incidents.note(inc, "seen by the poll")
        assert seen.wait(WAIT_S)
    finally:
        watcher.stop()
        session.close()
