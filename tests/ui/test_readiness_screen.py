"""The readiness screen: reached from the dashboard (its key in the footer), pre-filled items
kept as the workspace says, asked items answered with a key, a command run only after the
confirmation, and the review kept as a file."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.modals import ConfirmCommandModal
from mlops_oncall.ui.screens.dashboard import DashboardScreen
from mlops_oncall.ui.screens.readiness import ReadinessScreen
from mlops_oncall.ui.widgets.lean_footer import LeanFooter

from .conftest import wait_for


async def _open(app, pilot) -> ReadinessScreen:
    await wait_for(pilot, lambda: app.ready, what="boot")
    assert isinstance(app.screen, DashboardScreen)
    assert "Readiness" in [e[2] for e in app.screen.query_one(LeanFooter)._entries()]
    await pilot.press("p")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ReadinessScreen) and app.screen.findings,
        what="the checklist",
    )
    return app.screen


def _by_id(screen) -> dict:
    return {f.item.id: f for f in screen.findings}


async def test_answer_and_keep_a_review(tmp_path):
    app = build_app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open(app, pilot)
            assert screen.service == "fraud-scoring"
            found = _by_id(screen)
            assert found["health-checked"].prefilled
            health = found["health-checked"].status  # as the monitor has the checks now
            assert " of 3 checks up" in found["health-checked"].detail
            await pilot.press("y")  # on a pre-filled row: refused, nothing changes
            assert found["health-checked"].status == health
            await pilot.press("down", "y", "n", "p")
            assert [
                found[i].status for i in ("latency-slo", "availability-slo", "error-rate-alert")
            ] == [
                "pass",
                "fail",
                "partial",
            ]
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen.saved is not None, what="the kept review")
        review = json.loads(Path(screen.saved).read_text())
        items = {i["id"]: i for i in review["items"]}
        assert items["latency-slo"]["status"] == "pass"
        assert items["latency-slo"]["source"] == "answer"
        assert items["drift-monitor"]["status"] == "unknown"  # never answered
        assert review["service"] == "fraud-scoring" and review["actor"] == app.session.actor
        assert str(app.session.readiness_dir) in screen.saved
    finally:
        app.session.close()


async def test_a_command_runs_only_after_confirmation(tmp_path):
    app = build_app(tmp_path, allow_commands=True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open(app, pilot)
            await pilot.press(*["down"] * 26)  # the last item: service-doc, a command
            doc = _by_id(screen)["service-doc"]
            await pilot.press("x")
            await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirm"
            )
            assert app.screen.command == "test -s docs/fraud-scoring.md || test -s README.md"
            await pilot.press("escape")  # not run
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            assert doc.status is None
            await pilot.press("x")
            await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirm"
            )
            await pilot.press("y")
            await wait_for(pilot, lambda: doc.status is not None, what="the command's result")
            # no README in the test's folder: the command exits 1
            assert (doc.status, doc.source, doc.detail) == ("fail", "command", "exit 1")
    finally:
        app.session.close()
