"""The command confirmation dialog: every line of a command is shown before `y` runs it, and a
command that could redraw the screen is refused. Driven through triage, at 80x24."""

from __future__ import annotations

import yaml
from textual.widgets import Button, Label, Static

from mlops_oncall.config import load_workspace
from mlops_oncall.runbooks.schema import Runbook
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, RUNBOOKS, make_workspace
from mlops_oncall.ui.modals import ConfirmCommandModal
from mlops_oncall.ui.screens.triage import TriageScreen

from .conftest import wait_for

SMALL = (80, 24)


def _runbook(command: str) -> Runbook:
    data = yaml.safe_load((RUNBOOKS / "latency.yaml").read_text())
    data["steps"][0]["command"] = command  # the first step, so triage opens on it
    return Runbook.model_validate(data)


def _session(tmp_path) -> Session:
    return Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS, allow_commands=True)))


async def _confirm(app, pilot, session, command: str) -> str:
    ref = session.incidents.declare("p99", "SEV2", runbook=_runbook(command)).id
    await wait_for(pilot, lambda: app.ready, what="boot")
    app.push_screen(TriageScreen(ref))
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, TriageScreen) and app.screen.state is not None,
        what="triage",
    )
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="dialog")
    await pilot.pause()
    return ref


def _runs(session, ref):
    return [e for e in session.incidents.events(ref) if e.kind == "command_run"]


def _on_screen(app, widget) -> bool:
    r = widget.region
    return r.height > 0 and r.y >= 0 and r.bottom <= app.size.height


async def test_every_line_of_a_multi_line_command_is_shown_and_scrollable(tmp_path):
    target = tmp_path / "pwned"
    command = "echo harmless" + "\n" * 40 + f"touch {target}"
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    async with app.run_test(size=SMALL) as pilot:
        ref = await _confirm(app, pilot, session, command)
        dialog = app.screen
        assert "(41 lines)" in str(dialog.query_one("#confirm-title", Label).render())
        shown = str(dialog.query_one("#confirm-command", Static).render())
        assert shown.count("⏎") == 40 and shown.endswith(f"touch {target}")
        # the box scrolls to the hidden last line, and Run and the footer keys stay on screen
        box = dialog.query_one("#confirm-scroll")
        assert box.max_scroll_y > 0 and box.has_focus
        await pilot.press("end")
        await wait_for(pilot, lambda: box.scroll_y == box.max_scroll_y, what="scrolled")
        assert _on_screen(app, dialog.query_one("#run", Button))
        footer = " ".join(str(k.render()) for k in dialog.query("FooterKey"))
        assert "Run it" in footer and "Cancel" in footer
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(_runs(session, ref)), what="command_run")
    assert target.exists()  # the responder saw both commands and ran both
    session.close()


async def test_a_command_with_an_escape_sequence_is_refused_not_offered(tmp_path):
    # \x1b[1A\x1b[2K moves up and erases the line: what the dialog would show is not what runs
    command = "rm -rf /tmp/important\x1b[1A\x1b[2Kecho harmless"
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    async with app.run_test(size=SMALL) as pilot:
        ref = await _confirm(app, pilot, session, command)
        dialog = app.screen
        assert "cannot be run" in str(dialog.query_one("#confirm-title", Label).render())
        refused = str(dialog.query_one("#confirm-refused", Static).render())
        assert "terminal escape sequence (\\x1b at character 22)" in refused
        shown = str(dialog.query_one("#confirm-command", Static).render())
        assert shown == "rm -rf /tmp/important\\x1b[1A\\x1b[2Kecho harmless"
        assert not dialog.query("#run")
        footer = " ".join(str(k.render()) for k in dialog.query("FooterKey"))
        assert "Run it" not in footer
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCommandModal)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, TriageScreen), what="closed")
        await app.workers.wait_for_complete()
        assert _runs(session, ref) == []
    session.close()


async def test_carriage_returns_and_bidi_controls_are_refused_too(tmp_path):
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    async with app.run_test(size=SMALL) as pilot:
        await _confirm(app, pilot, session, "echo safe\rrm -rf ~ \u202e")
        refused = str(app.screen.query_one("#confirm-refused", Static).render())
        assert "control character (\\x0d at character 10)" in refused
    session.close()


def test_snapshot_multi_line_command_at_80x24(snap_compare, tmp_path):
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    command = (
        "kubectl rollout undo deploy/fraud-model\n"
        "\tkubectl rollout status deploy/fraud-model --timeout=120s\n" + "\n" * 12 + "echo done"
    )

    async def run_before(pilot):
        await _confirm(app, pilot, session, command)

    try:
        assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
    finally:
        session.close()
