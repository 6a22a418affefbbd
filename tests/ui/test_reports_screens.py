"""The postmortem screen (live preview, save, export, candidate risks) and the risk register."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList

from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.screens.postmortem import PostmortemScreen
from mlops_oncall.ui.screens.risks import CandidateRisksModal, RiskScreen

from .conftest import wait_for


async def test_postmortem_preview_follows_typing_and_save_records(tmp_path):
    app = build_app(tmp_path)
    session = app.session
    async with app.run_test(size=(150, 42)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.open_postmortem("INC-0003")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PostmortemScreen) and app.screen.context is not None,
            what="postmortem",
        )
        screen = app.screen
        assert "## Summary" in screen.query_one("#postmortem-preview").source
        await pilot.press("enter")  # edit the highlighted field: Summary
        await pilot.press(*"v43 doubled p99")
        await wait_for(
            pilot,
            lambda: "v43 doubled p99" in screen.query_one("#postmortem-preview").source,
            what="live preview",
        )
        assert session.incidents.get("INC-0003").row.summary is None  # not saved yet
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: session.incidents.get("INC-0003").row.summary == "v43 doubled p99",
            what="saved",
        )
        assert session.incidents.events("INC-0003")[-1].kind == "field_set"
        # export into the workspace's postmortems folder
        path = screen.export_path()
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: path.exists(), what="export")
        text = path.read_text()
        assert text.startswith("# ") and "v43 doubled p99" in text and "INC-0003" in text
    session.close()


async def test_candidate_risk_is_accepted_and_linked(tmp_path):
    app = build_app(tmp_path)
    session = app.session
    async with app.run_test(size=(150, 42)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.open_postmortem("INC-0003")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PostmortemScreen) and app.screen.context is not None,
            what="postmortem",
        )
        await pilot.press("ctrl+k")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, CandidateRisksModal) and app.screen.items,
            what="candidates",
        )
        modal = app.screen
        titles = [c["title"] for c in modal.items]
        lucky = next(i for i, c in enumerate(modal.items) if c["source"] == "lucky")
        assert any("low traffic" in t for t in titles)
        modal.query_one("#candidates", OptionList).highlighted = lucky
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(c["existing"] for c in modal.items), what="accepted")
    from mlops_oncall.reports.risks import Risks
    from mlops_oncall.ui.gallery.scenes import build_app as _  # noqa: F401 - keep the import local to this test

    linked = Risks(session.store).linked_to("INC-0003")
    assert any(
        "low traffic" in r["title"] or "low traffic" in (r["description"] or "") for r in linked
    )
    session.close()


async def test_risk_register_sorts_and_flags_overdue_reviews(tmp_path):
    app = build_app(tmp_path)
    async with app.run_test(size=(150, 42)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.press("g")
        await wait_for(
            pilot, lambda: isinstance(app.screen, RiskScreen) and app.screen.rows, what="risks"
        )
        screen = app.screen
        table = screen.query_one("#risks-table", DataTable)
        order = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]
        scores = {r["id"]: r["score"] for r in screen.rows}
        assert [scores[i] for i in order] == sorted(scores.values(), reverse=True)
        overdue = [r["id"] for r in screen.rows if r["overdue"]]
        assert overdue == ["R-001"]
        row = table.get_row("R-001")
        assert "overdue" in str(row[5])
        await pilot.press("o")  # sort by next review
        assert screen.sort == "next review"
    app.session.close()
