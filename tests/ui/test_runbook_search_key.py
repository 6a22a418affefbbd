"""`/` focuses the runbook search without typing itself into it."""

from __future__ import annotations

from textual.widgets import Input

from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.screens.runbooks import RunbooksScreen

from .conftest import wait_for


async def test_slash_focuses_search_and_types_nothing(tmp_path):
    app = build_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbooksScreen), what="runbooks")
        search = app.screen.query_one("#runbook-search", Input)
        await wait_for(pilot, lambda: search.has_focus, what="search focused")
        await pilot.press("slash")  # already in the box: still the search key
        assert search.value == ""
        app.screen.query_one("#runbook-list").focus()
        await pilot.pause()
        await pilot.press("slash")  # from the list: focuses the box, types nothing
        await wait_for(pilot, lambda: search.has_focus, what="search focused again")
        assert search.value == ""
        await pilot.press("a", "slash", "b")  # within a query it is a character
        assert search.value == "a/b"
