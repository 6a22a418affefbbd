"""Everything a postmortem needs is reachable in the TUI: impact_started (and the other
milestones) through a correction dialog, the authors, the postmortem status, and a risk's
likelihood/impact review. A refusal keeps the dialog open beside its field."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input, OptionList, Select

from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import T0
from mlops_oncall.ui.modals import ChoiceModal, MilestoneModal, RiskReviewModal

from .conftest import wait_for
from .test_incident_dialogs import SIZE, _incident_screen, _session
from .test_postmortem_drafts import _open, _to_field


async def _modal(pilot, app, key, kind):
    await pilot.press(key)
    await wait_for(
        pilot, lambda: isinstance(app.screen, kind) and app.screen.query(Input), what=kind.__name__
    )
    return app.screen


async def test_impact_started_is_set_from_the_incident_screen(tmp_path):
    session = _session(tmp_path)
    svc = session.incidents
    inc = svc.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            assert "(M sets it)" in str(screen.query_one("#incident-header").render())
            dialog = await _modal(pilot, app, "M", MilestoneModal)
            assert dialog.query_one("#milestone-name", Select).value == "impact_started"
            await pilot.press(*"banana", "enter")
            await wait_for(pilot, lambda: dialog.errors(), what="refusal")
            assert "cannot read the time 'banana'" in dialog.errors()["milestone-at"]
            dialog.query_one("#milestone-at", Input).value = ""
            await pilot.press(*"2099-01-01T00:00", "enter")  # refused by the core: the future
            await wait_for(pilot, lambda: "future" in dialog.errors().get("milestone-at", ""))
            assert app.screen is dialog
            dialog.query_one("#milestone-at", Input).value = ""
            await pilot.press(*"02:41", "enter")
            await wait_for(pilot, lambda: app.screen is screen, what="closed")
        row = svc.get(inc).row
        assert row.impact_started_at == T0 - timedelta(minutes=19)
        assert row.impact_started_source == "manual"
    finally:
        session.close()


async def test_postmortem_status_authors_and_milestones_from_the_postmortem(tmp_path):
    session = _session(tmp_path)
    svc = session.incidents
    inc = svc.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(app, pilot, inc)
            # authors: a field like the others, recorded with ctrl+s
            await _to_field(pilot, screen, "authors")
            await pilot.press(*"alice, bob", "ctrl+s")
            await wait_for(pilot, lambda: svc.get(inc).row.authors == "alice, bob")
            # the status: the cursor starts on the current one
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal), what="status")
            choices = app.screen.query_one("#choices", OptionList)
            assert choices.get_option_at_index(choices.highlighted).id == "draft"
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: svc.get(inc).row.postmortem_status == "final")
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            # impact_started: the figures follow, and the text being typed stays
            await _to_field(pilot, screen, "summary")
            await pilot.press(*"typing")
            await pilot.press("ctrl+t")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, MilestoneModal) and app.screen.query(Input),
                what="milestones",
            )
            await pilot.press(*"-20m", "enter")
            await wait_for(
                pilot,
                lambda: "Time to detect: **20m" in screen.query_one("#postmortem-preview").source,
                what="TTD in the preview",
            )
            assert screen.texts["summary"] == "typing"
            # the preview names the keys that fill a gap, never a command to go and type
            preview = screen.query_one("#postmortem-preview").source
            assert "mlops-oncall incident" not in preview
            assert "(write it on the left; ctrl+s records it)" in preview
    finally:
        session.close()


def _now(risk: dict) -> tuple[int, int]:
    """The score as reviewed (the register keeps the inherent one beside it)."""
    cur = risk.get("current") or risk
    return cur["likelihood"], cur["impact"]


async def test_a_risk_is_reviewed_from_the_register(tmp_path):
    from mlops_oncall.ui.screens.risks import RiskScreen

    session = _session(tmp_path)
    risks = session.risks
    risks.add("Promotions skip the canary", 4, 4, "ml-platform")
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            await pilot.press("g")
            await wait_for(
                pilot, lambda: isinstance(app.screen, RiskScreen) and app.screen.rows, what="risks"
            )
            screen = app.screen
            dialog = await _modal(pilot, app, "v", RiskReviewModal)
            dialog.query_one("#review-likelihood", Select).value = 2
            dialog.query_one("#review-next", Input).value = "12/20"
            dialog.query_one("#review-note", Input).focus()
            await pilot.press(*"canary gate landed", "enter")
            await wait_for(pilot, lambda: dialog.errors(), what="refusal")
            assert "cannot read the date '12/20'" in dialog.errors()["review-next"]
            assert dialog.query_one("#review-note", Input).value == "canary gate landed"
            dialog.query_one("#review-next", Input).value = "+30d"
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is screen, what="closed")
            await wait_for(
                pilot,
                lambda: screen.rows and _now(screen.rows[0]) == (2, 4),
                what="register reloaded",
            )
        r = risks.get("R-001")
        assert _now(r) == (2, 4)
        assert r["history"][-1]["note"] == "canary gate landed"
        assert str(r["next_review"]) == (T0.date() + timedelta(days=30)).isoformat()
    finally:
        session.close()


def test_no_dialog_or_incident_screen_sends_the_user_to_the_cli():
    from pathlib import Path

    import mlops_oncall.ui as ui

    root = Path(ui.__file__).parent
    for rel in ("modals.py", "screens/incident.py", "screens/postmortem.py", "screens/risks.py"):
        # what is shown, not the pattern that rewrites the document's hints
        lines = [x for x in (root / rel).read_text().splitlines() if "re.compile" not in x]
        text = "\n".join(lines)
        assert "`mlops-oncall " not in text, rel
        assert " CLI" not in text, rel
