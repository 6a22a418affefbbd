"""Pilot tests of the triage screen: only recorded outcomes are shown, refused keys are not
offered, and browsing follows the path actually taken."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.screens.triage import TriageScreen

from .conftest import wait_for


def _text(widget: Static) -> str:
    r = widget.render()
    return r.plain if isinstance(r, Text) else str(r)


def _kinds(session, ref) -> list[str]:
    return [e.kind for e in session.incidents.events(ref)]


async def _triage(app, pilot, session, *, to: str = "start", choice: str = "Yes"):
    """An incident on the fraud-latency runbook, worked up to `to`, on the triage screen."""
    rb = session.library.get("fraud-latency").runbook
    view = session.incidents.declare("fraud slow", "SEV2", service="fraud-scoring", runbook=rb)
    svc = session.incidents
    if to in ("rolled-out", "rollback", "verify"):
        svc.step(view.id, "what-changed", "done")
    if to in ("rollback", "verify"):
        svc.decide(view.id, "rolled-out", choice)
    if to == "verify":
        svc.step(view.id, "rollback", "done")
    app.push_screen(TriageScreen(view.id))
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, TriageScreen) and app.screen.state is not None,
        what="triage",
    )
    return view.id


async def test_left_goes_back_along_the_path_taken(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await _triage(app, pilot, fixed_session, to="verify")
        screen = app.screen
        assert screen.viewing == "verify"
        seen = []
        for _ in range(4):
            await pilot.press("left")
            seen.append(screen.viewing)
        # verify <- rollback <- rolled-out <- what-changed; scale-out (not taken) is never shown
        assert seen == ["rollback", "rolled-out", "what-changed", "what-changed"]
        for _ in range(3):
            await pilot.press("right")
        assert screen.viewing == "verify"


async def test_right_past_the_current_step_previews_where_it_flows(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await _triage(app, pilot, fixed_session, to="rollback")
        screen = app.screen
        await pilot.press("right")
        assert screen.viewing == "verify"  # rollback flows to verify (its next), not scale-out
        await pilot.press("left")
        assert screen.viewing == "rollback"


async def test_keys_refused_on_a_viewed_step_are_not_offered(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        ref = await _triage(app, pilot, fixed_session, to="rollback")
        screen = app.screen
        offered = {b.action for _n, b, enabled, _t in screen.active_bindings.values() if enabled}
        assert {"done", "skip", "failed"} <= offered
        await pilot.press("right")  # verify: not reached yet
        assert screen.viewing == "verify"
        for action, params in (
            ("done", ()),
            ("skip", ()),
            ("failed", ()),
            ("with_note", ("done",)),
        ):
            assert screen.check_action(action, params) is False
        footer = {b.action for _n, b, enabled, _t in screen.active_bindings.values() if enabled}
        assert not {"done", "skip", "failed"} & footer
        header = _text(screen.query_one("#triage-header", Static))
        assert "d done" not in header
        before = _kinds(fixed_session, ref)
        await pilot.press("d", "s", "f")
        await app.workers.wait_for_complete()
        assert _kinds(fixed_session, ref) == before
        assert not app._notifications  # nothing was tried, so nothing failed
        body = _text(screen.query_one("#step-result-body", Static))
        assert "done" not in body
        # the decide step already taken: its choices may be redone, d/s/f never
        await pilot.press("left", "left")
        assert screen.viewing == "rolled-out"
        assert screen.check_action("done", ()) is False
        assert screen.check_action("choose", (2,)) is True
        assert screen.check_action("choose", (3,)) is False


async def test_a_refused_outcome_is_not_shown_as_done(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        ref = await _triage(app, pilot, fixed_session, to="rollback")
        screen = app.screen
        await pilot.press("right")
        before = _kinds(fixed_session, ref)
        screen.action_done()  # the palette or a remapped key reaches the action regardless
        await wait_for(pilot, lambda: app._notifications, what="the refusal")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Could not" in next(iter(app._notifications)).title
        assert _kinds(fixed_session, ref) == before
        body = _text(screen.query_one("#step-result-body", Static))
        assert "done" not in body


async def test_last_result_shows_the_recorded_outcome(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        ref = await _triage(app, pilot, fixed_session, to="rollback")
        screen = app.screen
        await pilot.press("d")
        await wait_for(pilot, lambda: screen.state.current == "verify", what="verify")
        body = _text(screen.query_one("#step-result-body", Static))
        assert "rollback: done" in body
        assert _kinds(fixed_session, ref)[-1] == "step_done"


async def test_copy_says_where_the_command_went_and_shows_it_selectable(fixed_session):
    from textual.widgets import TextArea

    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await _triage(app, pilot, fixed_session, to="rollback")
        screen = app.screen
        box = screen.query_one("#step-command", TextArea)
        assert box.display and box.read_only and box.text == "echo rolled back"
        await pilot.press("c")
        await wait_for(pilot, lambda: app._notifications, what="the copy message")
        message = next(iter(app._notifications)).message
        # OSC 52 has no answer: whether the terminal (or tmux) took it cannot be known
        assert "sent to the terminal's clipboard (OSC 52)" in message
        assert "copied" not in message.lower()
        assert app.clipboard == "echo rolled back"
        await pilot.press("right")  # verify: no command, so no box and no copy key
        assert not box.display
        assert screen.check_action("copy", ()) is False
        assert screen.check_action("execute", ()) is False
        assert screen.check_action("run_check", ()) is True
        await pilot.press("left")
        assert box.display and box.text == "echo rolled back"
        assert screen.check_action("run_check", ()) is False


async def _triage_from_incident(app, pilot, session):
    """The way a responder gets there: the incident screen, then `t`."""
    from mlops_oncall.ui.screens.incident import IncidentScreen

    rb = session.library.get("fraud-latency").runbook
    view = session.incidents.declare("fraud slow", "SEV2", service="fraud-scoring", runbook=rb)
    app.open_incident(view.id)
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
        what="incident",
    )
    await pilot.press("t")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, TriageScreen) and app.screen.view is not None,
        what="triage",
    )
    return view.id


async def test_status_severity_and_elapsed_are_shown_and_changed_from_triage(fixed_session):
    from datetime import timedelta

    from textual.screen import ModalScreen

    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        ref = await _triage_from_incident(app, pilot, fixed_session)
        screen = app.screen
        header = screen.query_one("#triage-header", Static)
        first = _text(header).splitlines()[0]
        assert ref in first and "SEV2" in first and "triage" in first and "elapsed 0s" in first
        assert "not acknowledged" in first
        fixed_session.clock.advance(timedelta(minutes=5))
        await wait_for(pilot, lambda: "elapsed 5m" in _text(header), what="elapsed to move")
        # a: acknowledge, from the triage screen
        await pilot.press("a")
        await wait_for(
            pilot, lambda: "investigating" in _text(header).splitlines()[0], what="acknowledged"
        )
        assert "not acknowledged" not in _text(header)
        assert fixed_session.incidents.get(ref).row.acknowledged_at is not None
        # v: the incident screen's severity dialog, over the triage screen
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ModalScreen), what="severity dialog")
        app.screen.dismiss("SEV1")
        await wait_for(pilot, lambda: "SEV1" in _text(header), what="severity shown")
        assert fixed_session.incidents.get(ref).row.severity == "SEV1"
        # u: status (s is skip here), the incident screen's status dialog
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ModalScreen), what="status dialog")
        app.screen.dismiss("identified")
        await wait_for(pilot, lambda: "identified" in _text(header), what="status shown")
        assert fixed_session.incidents.get(ref).row.status == "identified"
        assert isinstance(app.screen, TriageScreen)
        assert screen.state.current == "what-changed"  # the runbook did not move


async def test_a_refused_key_does_not_fall_through_to_the_app(fixed_session):
    """On a decide step f (failed) is refused; it must not become the app's f (inject fault)."""
    from textual.screen import ModalScreen

    fixed_session.fake_control_url = "http://127.0.0.1:9/"  # the app offers Inject fault
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await _triage(app, pilot, fixed_session, to="rolled-out")
        screen = app.screen
        assert screen.viewing == "rolled-out" and screen.check_action("failed", ()) is False
        shown = {b.action for _n, b, _e, _t in screen.active_bindings.values()}
        assert "inject_fault" not in shown and "app.inject_fault" not in shown
        await pilot.press("f")
        await pilot.pause()
        assert app.screen is screen and not isinstance(app.screen, ModalScreen)


async def test_the_selectable_command_is_the_one_c_sends(fixed_session):
    """With placeholders, the box shows the command filled in, as c sends it, not the template."""
    from textual.widgets import TextArea

    rb = fixed_session.library.get("fraud-latency").runbook.model_copy(deep=True)
    rb.steps[0].command = "echo {{ service }} {{ incident }}"
    view = fixed_session.incidents.declare("slow", "SEV2", service="fraud-scoring", runbook=rb)
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.push_screen(TriageScreen(view.id))
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, TriageScreen) and app.screen.command_sources,
            what="triage with its placeholder values",
        )
        box = app.screen.query_one("#step-command", TextArea)
        expected = f"echo fraud-scoring {view.id}"
        await wait_for(pilot, lambda: box.text == expected, what=f"{expected!r}; got {box.text!r}")
        await pilot.press("c")
        await wait_for(pilot, lambda: app.clipboard == expected, what="the copy")
