"""The debrief screen without any drill says so once, not also that every target was met."""

from __future__ import annotations

from textual.widgets import OptionList

from mlops_oncall.config import Config, Workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.screens.debrief import DebriefScreen

from .conftest import wait_for


async def test_no_drill_is_not_every_target_met(tmp_path):
    session = Session(
        Workspace(config=Config(name="t")), database_url=f"sqlite:///{tmp_path / 'd.db'}"
    )
    app = OncallApp(session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.push_screen(DebriefScreen())
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, DebriefScreen)
                and any(ol.option_count for ol in app.screen.query("#improvements"))
            ),
            what="debrief",
        )
        ol = app.screen.query_one("#improvements", OptionList)
        shown = [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]
        assert shown == ["None: no drill to debrief yet."]
        assert "No drill has been run yet" in app.screen.query_one("#debrief-markdown").source
    session.close()
