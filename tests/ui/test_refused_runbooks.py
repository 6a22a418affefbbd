"""A broken workspace runbook does not vanish from the TUI: a banner on the dashboard and the
runbooks screen counts the refused files until they are fixed, and ctrl+r lists each one."""

from __future__ import annotations

from textual.widgets import Static

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, make_workspace
from mlops_oncall.ui.modals import RefusedRunbooksModal
from mlops_oncall.ui.screens.dashboard import DashboardScreen
from mlops_oncall.ui.screens.runbooks import RunbooksScreen
from mlops_oncall.ui.widgets.refused import RefusedBanner
from tests.conftest import FIXTURES

from .conftest import wait_for


def _footer(screen) -> str:
    return " ".join(str(k.render()) for k in screen.query("FooterKey"))


async def test_refused_runbooks_stay_on_screen_and_ctrl_r_lists_them(tmp_path):
    cfg = make_workspace(tmp_path, FIXED_CHECKS)
    bad = cfg.parent / "runbooks" / "broken.yaml"
    bad.write_text(
        (FIXTURES / "malformed" / "unknown_next.yaml").read_text().replace("id: latency", "id: x")
    )
    session = Session(load_workspace(cfg))
    app = OncallApp(session, live=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.pause()
        banner = app.screen.query_one(RefusedBanner)
        assert isinstance(app.screen, DashboardScreen) and banner.display
        assert str(banner.render()).startswith("⚠ 1 runbook refused")
        assert "Refused runbooks" in _footer(app.screen)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbooksScreen), what="runbooks")
        await pilot.pause()
        assert app.screen.query_one(RefusedBanner).display
        assert "x" not in app.screen.ids  # refused: not listed
        await pilot.press("ctrl+r")  # from the search box, which has focus
        await wait_for(pilot, lambda: isinstance(app.screen, RefusedRunbooksModal), what="modal")
        lines = str(app.screen.query_one("#refused-lines", Static).render())
        assert lines == (
            f"{bad}:23:11: steps[2].next: unknown step 'verfy' (did you mean 'verify'?) "
            "(runbook refused)"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbooksScreen), what="closed")
    session.close()


async def test_no_banner_and_no_key_when_every_runbook_loads(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.pause()
        assert not app.screen.query_one(RefusedBanner).display
        assert "Refused runbooks" not in _footer(app.screen)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
