"""The declare dialog's "What changed": the deploys of the service being declared, recorded
through ``session.deploys`` on a real SQLite workspace (a registry move as the MLflow change
source records it, with its notes marker, and a code deploy), in the runbooks' what-changed
window, newest first; from a failing check, from an alert group, re-read when the service is
edited, and a dim line when there are none."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import Input, Static

from mlops_oncall.changes.marker import marker
from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.alerts import seed_alerts
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, fixed_views, make_workspace
from mlops_oncall.ui.modals import DeclareModal
from mlops_oncall.ui.screens.alerts import AlertsScreen

from .conftest import wait_for

SIZE = (100, 40)


def _session(tmp_path: Path) -> Session:
    session = Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), clock=FixedClock(T0))
    deploys = session.deploys
    # older than 2h before detection (T0 - 3m): outside the window
    deploys.record("fraud-scoring", "v41", "code", "succeeded", at=T0 - timedelta(hours=3))
    deploys.record("fraud-scoring", "v42", "code", "succeeded", at=T0 - timedelta(minutes=95))
    deploys.record(
        "fraud-scoring",
        "fraud/4",
        "model",
        "succeeded",
        at=T0 - timedelta(minutes=50),
        notes="MLflow fraud version 4: alias @champion 4 (previous 2) "
        + marker("fraud", 4, [("alias:champion", 2)]),
    )
    deploys.record("fraud-scoring", "v43", "code", "rolled_back", at=T0 - timedelta(minutes=26))
    deploys.record("batch-scoring", "b7", "code", "succeeded", at=T0 - timedelta(minutes=10))
    return session


def _lines(dialog: DeclareModal) -> list[str]:
    found = dialog.query("#declare-changes")  # none until the dialog is composed
    return str(found.first(Static).render()).splitlines() if found else []


async def _listed(pilot, dialog: DeclareModal, first: str) -> list[str]:
    await wait_for(pilot, lambda: _lines(dialog)[:1] == [first], what=f"changes: {first}")
    return _lines(dialog)


async def test_from_a_failing_check_newest_first_then_edited(tmp_path):
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            app.apply_views(fixed_views())  # fraud.ready down since T0 - 3m
            app.declare_from_check("fraud.ready")
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="dialog")
            dialog = app.screen
            assert await _listed(pilot, dialog, "26m ago  v43 (code) ↩ rolled back") == [
                "26m ago  v43 (code) ↩ rolled back",
                "50m ago  fraud/4 (@champion 2→4) (model) ✓",
                "1h 35m ago  v42 (code) ✓",
            ]
            # another service: re-read after the typing stops
            dialog.query_one("#declare-service", Input).value = "batch-scoring"
            assert await _listed(pilot, dialog, "10m ago  b7 (code) ✓") == ["10m ago  b7 (code) ✓"]
            dialog.query_one("#declare-service", Input).value = "feature-store"
            await _listed(pilot, dialog, "no deploys of feature-store in the last 2h")
            dialog.query_one("#declare-service", Input).value = ""
            await _listed(pilot, dialog, "no service: type one to see its deploys")
    finally:
        session.close()


async def test_more_than_three_and_the_form_unchanged(tmp_path):
    session = _session(tmp_path)
    session.deploys.record(
        "fraud-scoring", "v44", "code", "succeeded", at=T0 - timedelta(minutes=2)
    )
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            app.apply_views(fixed_views())
            app.declare_from_check("fraud.ready")
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="dialog")
            dialog = app.screen
            lines = await _listed(pilot, dialog, "2m ago  v44 (code) ✓")
            assert lines[1:] == [
                "26m ago  v43 (code) ↩ rolled back",
                "50m ago  fraud/4 (@champion 2→4) (model) ✓",
                "+1 more",
            ]
    finally:
        session.close()


async def test_from_an_alert_group(tmp_path):
    session = _session(tmp_path)
    seed_alerts(session)
    session.clock.set(T0)
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            await pilot.press("a")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, AlertsScreen) and app.screen.groups is not None,
                what="the inbox",
            )
            await pilot.press("d")  # the newest group: FraudLatencyHigh on fraud-scoring
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="dialog")
            dialog = app.screen
            assert dialog.query_one("#declare-service", Input).value == "fraud-scoring"
            lines = await _listed(pilot, dialog, "26m ago  v43 (code) ↩ rolled back")
            assert lines[1] == "50m ago  fraud/4 (@champion 2→4) (model) ✓"
            assert "batch-scoring" not in " ".join(lines) and "b7" not in " ".join(lines)
    finally:
        session.close()


async def test_blank_declaration_reads_what_is_typed(tmp_path):
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            app.declare_from_check(None)
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="dialog")
            dialog = app.screen
            await _listed(pilot, dialog, "no service: type one to see its deploys")
            dialog.query_one("#declare-service", Input).focus()
            await pilot.press(*"batch-scoring")
            await _listed(pilot, dialog, "10m ago  b7 (code) ✓")
    finally:
        session.close()
