"""The TUI's ctrl+e exports go through the output writer: an existing export is kept."""

from __future__ import annotations

from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.screens.postmortem import PostmortemScreen
from mlops_oncall.ui.screens.risks import RiskScreen

from .conftest import wait_for


async def test_postmortem_export_keeps_an_edited_file_and_says_where_it_wrote(tmp_path):
    app = build_app(tmp_path)
    async with app.run_test(size=(150, 42)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.open_postmortem("INC-0003")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PostmortemScreen) and app.screen.context is not None,
            what="postmortem",
        )
        path = app.screen.export_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("edited by hand\n")
        await pilot.press("ctrl+e")
        second = path.with_name("INC-0003-2.md")
        await wait_for(pilot, second.exists, what="numbered export")
        assert path.read_text() == "edited by hand\n"
        assert second.read_text().startswith("# ")
        await wait_for(
            pilot,
            lambda: any(str(second) in n.message for n in app._notifications),
            what="notice",
        )
        messages = [n.message for n in app._notifications]
        assert any("INC-0003.md already exists, so it was kept" in m for m in messages)
    app.session.close()


async def test_risk_export_refuses_a_symlink_and_says_so(tmp_path):
    app = build_app(tmp_path)
    async with app.run_test(size=(150, 42)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, RiskScreen), what="risks")
        s = app.session
        folder = s.workspace.path(s.workspace.config.reports)
        folder.mkdir(parents=True, exist_ok=True)
        victim = tmp_path / "victim.txt"
        victim.write_text("keep\n")
        (folder / f"risks-{s.clock.now():%Y-%m-%d}.md").symlink_to(victim)
        await pilot.press("ctrl+e")
        await wait_for(
            pilot,
            lambda: any("Wrote" in n.message for n in app._notifications),
            what="export",
        )
        assert victim.read_text() == "keep\n"
        assert (folder / f"risks-{s.clock.now():%Y-%m-%d}-2.md").read_text().startswith("#")
    app.session.close()
