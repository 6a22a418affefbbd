"""The incident screen's status update (key u), driven with Textual's Pilot: the draft in an
editable text area, sent to a webhook receiver as edited; a refusal stays in the dialog with
the destination's error and the text; the header says when the update is overdue."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Select, Static, TextArea

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, make_workspace
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.screens.update_dialog import UpdateModal
from tests.notify.conftest import SECRET, Answer
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)
SIZE = (160, 45)


def _session(tmp_path: Path, monkeypatch, receiver) -> Session:
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/{SECRET}")
    cfg = make_workspace(tmp_path, FIXED_CHECKS)
    cfg.write_text(
        cfg.read_text()
        + "notify:\n  hook:\n    type: webhook\n    url: ${env:HOOK_URL}\n    retries: 0\n"
    )
    return Session(load_workspace(cfg), clock=FixedClock(T0))


async def _open(app, pilot, inc: str) -> IncidentScreen:
    await wait_for(pilot, lambda: app.ready, what="boot")
    app.open_incident(inc)
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
        what="incident screen",
    )
    return app.screen


def _header(screen) -> str:
    return str(screen.query_one("#incident-header", Static).render())


async def test_u_drafts_edits_and_sends(tmp_path, monkeypatch, receiver):
    session = _session(tmp_path, monkeypatch, receiver)
    inc = session.incidents.declare("Latency", "SEV1", service="fraud-scoring").id
    session.incidents.note(inc, "rolled back fraud-model to v41")
    receiver.script.append(Answer(500, "boom"))
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(app, pilot, inc)
            await pilot.press("u")
            await wait_for(pilot, lambda: isinstance(app.screen, UpdateModal), what="dialog")
            dialog = app.screen
            area = dialog.query_one("#update-text", TextArea)
            await wait_for(pilot, lambda: not area.read_only, what="the draft")
            assert area.text.startswith(f"[SEV1] {inc}: Latency\n")
            assert "note: rolled back fraud-model to v41" in area.text
            assert dialog.query_one("#update-to", Select).value == "hook"
            area.load_text("Rolled back; watching p99.")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "update-text" in dialog.errors(), what="refusal")
            assert dialog.errors()["update-text"] == (
                "not delivered: destination 'hook' (webhook) answered HTTP 500: boom"
            )
            assert app.screen is dialog and area.text == "Rolled back; watching p99."
            await pilot.press("ctrl+s")  # the same text: the same update, resent with its key
            await wait_for(pilot, lambda: app.screen is screen, what="closed")
        a, b = receiver.seen
        assert (
            a.json["update"]["text"] == b.json["update"]["text"] == ("Rolled back; watching p99.")
        )
        assert a.headers["Idempotency-Key"] == b.headers["Idempotency-Key"]
        kinds = [e.kind for e in session.incidents.events(inc)]
        assert kinds.count("status_update") == 1
    finally:
        session.close()


async def test_the_header_says_when_the_update_is_overdue(tmp_path, monkeypatch, receiver):
    session = _session(tmp_path, monkeypatch, receiver)
    inc = session.incidents.declare("Latency", "SEV1", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(app, pilot, inc)
            await wait_for(pilot, lambda: "Next update in 30m" in _header(screen), what="due")
            session.clock.advance(timedelta(minutes=42))
            screen.render_header()
            await wait_for(
                pilot, lambda: "Update overdue by 12m (u)" in _header(screen), what="overdue"
            )
            await wait_for(
                pilot,
                lambda: any(e.kind == "update_overdue" for e in session.incidents.events(inc)),
                what="the update_overdue event",
            )
    finally:
        session.close()


async def test_the_dashboard_marks_an_overdue_update(tmp_path, monkeypatch, receiver):
    from mlops_oncall.ui.screens.dashboard import DashboardScreen

    session = _session(tmp_path, monkeypatch, receiver)
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)

    def title_cell() -> str:
        table = app.screen.query_one("#incidents-table")
        return str(table.get_cell(inc, "title")) if table.row_count else ""

    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            assert isinstance(app.screen, DashboardScreen)
            await wait_for(pilot, lambda: title_cell() == "Latency", what="the incident row")
            session.clock.advance(timedelta(minutes=61))  # the tick notices the due time pass
            await wait_for(
                pilot, lambda: title_cell() == "Latency  update overdue", what="overdue mark"
            )
    finally:
        session.close()
