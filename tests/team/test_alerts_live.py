"""Alert groups live from other processes: a group waiting in the inbox appends no event, so
a delivery or a decision is announced on its own (NOTIFY 'alerts:<id>' on PostgreSQL; a moved
data_version and a new alert-groups mark on SQLite), and the TUI's inbox re-reads only then.
On SQLite and a real PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.gallery.alerts import alert, payload
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, make_workspace

pytestmark = pytest.mark.timeout(120)
WAIT_S = 30  # a hang, not a speed limit


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_watcher_reports_an_alert_group_and_not_as_an_incident(backend, request, tmp_path):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    session = Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), database_url=url)
    session.incidents  # noqa: B018 - the store, migrated, before the watch starts
    reported, incidents = threading.Event(), []
    watcher = session.watch(incidents.append, on_alerts=reported.set).start()
    try:
        other = Session(session.workspace, database_url=session.store.url)
        try:
            note = payload(alert("00aa11bb22cc33dd", "QueueHigh", service="ranker", starts=T0))
            group = other.alerts.receive(note).group
            assert reported.wait(WAIT_S), "the new inbox group was not reported"
            reported.clear()
            other.alerts.dismiss(group)
            assert reported.wait(WAIT_S), "the dismissal was not reported"
        finally:
            other.close()
        assert incidents == []  # an inbox group moves no incident's head
    finally:
        watcher.stop()
        session.close()
