"""Triage resolves a step's placeholders before copying or running (asking for missing
values), and confirms by the step's risk: the target and the resolved command for a change,
the target's name typed for a destructive step, copy-only for a command needing a terminal."""

from __future__ import annotations

import yaml
from textual.widgets import Input, Label, Static

from mlops_oncall.config import load_workspace
from mlops_oncall.runbooks.schema import Runbook
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, RUNBOOKS, make_workspace
from mlops_oncall.ui.modals import CommandValuesModal, ConfirmCommandModal
from mlops_oncall.ui.screens.triage import TriageScreen

from .conftest import wait_for

SMALL = (80, 24)


def _runbook(command: str, kind: str = "diagnose", risk: str | None = None) -> Runbook:
    data = yaml.safe_load((RUNBOOKS / "latency.yaml").read_text())
    step = data["steps"][0]  # the first step, so triage opens on it
    step.update(command=command, kind=kind)
    if risk:
        step["risk"] = risk
    return Runbook.model_validate(data)


def _session(tmp_path) -> Session:
    cfg = make_workspace(tmp_path, FIXED_CHECKS, allow_commands=True)
    cfg.write_text(cfg.read_text() + "vars: {namespace: ml-serving}\n")
    return Session(load_workspace(cfg))


async def _triage(app, pilot, session, runbook) -> str:
    ref = session.incidents.declare("p99", "SEV2", service="fraud-scoring", runbook=runbook).id
    await wait_for(pilot, lambda: app.ready, what="boot")
    app.push_screen(TriageScreen(ref))
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, TriageScreen) and app.screen.command_sources is not None,
        what="triage with its command sources",
    )
    return ref


def _runs(session, ref):
    return [e for e in session.incidents.events(ref) if e.kind == "command_run"]


async def test_a_missing_value_is_asked_for_before_copying_and_running(tmp_path):
    out = tmp_path / "out.txt"
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    command = f"echo {{{{ pod }}}} -n {{{{ namespace }}}} {{{{ logical_date }}}} > {out}"
    async with app.run_test(size=SMALL) as pilot:
        ref = await _triage(app, pilot, session, _runbook(command))
        # the step shows what is known already: the workspace's namespace is filled in
        shown = str(app.screen.query_one("#step-markdown").source)
        assert "-n ml-serving {{ logical_date }}" in shown and "{{ pod }}" in shown

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandValuesModal), what="ask")
        dialog = app.screen
        assert dialog.missing == ["pod", "logical_date"]
        # logical_date is prefilled (the day before detection); pod has no source
        assert dialog.query_one("#value-logical_date", Input).value.endswith("T00:00:00+00:00")
        assert dialog.query_one("#value-pod", Input).value == ""
        await pilot.press("escape")  # refused: nothing is copied
        await wait_for(pilot, lambda: isinstance(app.screen, TriageScreen), what="back")
        assert app.clipboard == ""
        assert any("needs every value" in n.message for n in app._notifications)

        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandValuesModal), what="ask")
        app.screen.query_one("#value-logical_date", Input).value = "2026-11-27T02:00:00+00:00"
        await pilot.press("ctrl+s")  # pod is still empty: the dialog stays, saying so
        await pilot.pause()
        assert isinstance(app.screen, CommandValuesModal)
        assert "pod needs a value" in str(app.screen.query_one("#values-error", Label).render())
        await pilot.press(*"web-1; rm -rf x")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirm")
        shown = str(app.screen.query_one("#confirm-command", Static).render())
        assert shown == f"echo 'web-1; rm -rf x' -n ml-serving 2026-11-27T02:00:00+00:00 > {out}"
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(_runs(session, ref)), what="command_run")
    assert out.read_text() == "web-1; rm -rf x -n ml-serving 2026-11-27T02:00:00+00:00\n"
    assert _runs(session, ref)[0].data["command"] == shown
    session.close()


async def test_a_change_step_shows_its_target_and_the_resolved_command(tmp_path):
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    async with app.run_test(size=SMALL) as pilot:
        await _triage(
            app, pilot, session, _runbook("echo rollout undo -n {{ namespace }}", "mitigate")
        )
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirm")
        d = app.screen
        assert "changes a running system" in str(d.query_one("#confirm-title", Label).render())
        target = str(d.query_one("#confirm-target", Label).render())
        assert "Target: fraud-scoring" in target and "Risk: change" in target
        assert str(d.query_one("#confirm-command", Static).render()) == (
            "echo rollout undo -n ml-serving"
        )
    session.close()


async def test_a_destructive_step_runs_only_once_the_target_is_typed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("data")
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    async with app.run_test(size=SMALL) as pilot:
        ref = await _triage(
            app, pilot, session, _runbook(f"rm {victim}", "mitigate", "destructive")
        )
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirm")
        d = app.screen
        assert "DESTRUCTIVE" in str(d.query_one("#confirm-title", Label).render())
        assert d.query_one("#confirm-typed", Input).has_focus
        await pilot.press("y", "enter")  # `y` is text here, and "y" is not the target
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCommandModal) and victim.exists()
        d.query_one("#confirm-typed", Input).value = ""
        await pilot.press(*"fraud-scorin", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCommandModal) and victim.exists()
        await pilot.press("g", "enter")
        await wait_for(pilot, lambda: bool(_runs(session, ref)), what="command_run")
    assert not victim.exists()
    session.close()


async def test_an_interactive_command_is_offered_for_copying_only(tmp_path):
    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    async with app.run_test(size=SMALL) as pilot:
        ref = await _triage(
            app, pilot, session, _runbook("kubectl -n {{ namespace }} edit deploy/x", "mitigate")
        )
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirm")
        d = app.screen
        assert "can only be copied" in str(d.query_one("#confirm-title", Label).render())
        why = str(d.query_one("#confirm-refused", Static).render())
        assert "kubectl edit is interactive" in why and "needs a terminal (TTY)" in why
        assert not d.query("#run")
        footer = " ".join(str(k.render()) for k in d.query("FooterKey"))
        assert "Run it" not in footer and "Copy it" in footer
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCommandModal)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, TriageScreen), what="closed")
        assert app.clipboard == "kubectl -n ml-serving edit deploy/x"
        await app.workers.wait_for_complete()
        assert _runs(session, ref) == []
    session.close()
