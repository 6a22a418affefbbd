"""Pilot tests of whole flows: the responder's path from a broken service to a resolved
incident, search, command confirmation, escalation, and events from another process."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest
from textual.widgets import DataTable, OptionList, Static

from mlops_oncall.config import load_workspace
from mlops_oncall.drills.fake.system import FakeSystem
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import T0, fixed_views, make_workspace
from mlops_oncall.ui.modals import ConfirmCommandModal, ConfirmModal, DeclareModal, NoteModal
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.screens.runbooks import RunbooksScreen
from mlops_oncall.ui.screens.triage import TriageScreen
from tests.conftest import console_script

from .conftest import wait_for

LIVE_CHECKS = """\
defaults:
  interval: 300ms
  timeout: 400ms
  thresholds: {{degraded_after: 1, down_after: 2, recover_after: 1}}
checks:
  - id: fraud
    name: Fraud model
    preset: oip_v2
    base_url: {url}
    model: fraud
    group: serving
    service: fraud-scoring
    runbook: fraud-latency
"""


@pytest.fixture
def fake():
    system = FakeSystem().start()
    yield system
    system.stop()


async def test_full_responder_flow(tmp_path, fake):
    cfg = make_workspace(tmp_path, LIVE_CHECKS.format(url=fake.url("fraud-scoring")))
    session = Session(load_workspace(cfg), fake_control_url=fake.control_url)
    app = OncallApp(session, flush_every=0.05)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(
            pilot,
            lambda: app.views.get("fraud.ready") and app.views["fraud.ready"].state == "up",
            what="fraud.ready up",
        )
        # 1. break the model server for real
        fake.inject("fraud-scoring", "latency", ms=2000)
        # 2. the check goes down (thresholds: two consecutive down results)
        await wait_for(
            pilot, lambda: app.views["fraud.ready"].state == "down", what="fraud.ready down"
        )
        first_failure = app.views["fraud.ready"].first_failure_at
        # 3. declare from the dashboard, on the failing row
        table = app.screen.query_one("#checks-table", DataTable)
        table.move_cursor(row=table.get_row_index("fraud.ready"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="declare dialog")
        # 4. the runbook is suggested, with the reason, and preselected
        options = app.screen.query_one("#declare-runbooks", OptionList)
        assert options.get_option_at_index(options.highlighted).id == "fraud-latency"
        assert "check fraud.ready names this runbook" in str(options.get_option_at_index(1).prompt)
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, TriageScreen) and app.screen.state is not None,
            what="triage",
        )
        incident = app.screen.incident_id
        # 5. step through: done with a note, a decision, done
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, NoteModal), what="note dialog")
        await pilot.press(*"v43 rolled out 03:12")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, TriageScreen) and app.screen.state.current == "rolled-out"
            ),
            what="decide step",
        )
        await pilot.press("1")
        await wait_for(pilot, lambda: app.screen.state.current == "rollback", what="rollback step")
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen.state.current == "verify", what="verify step")
        # 6. mitigate and 7. resolve, from the incident screen
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
            what="incident screen",
        )
        await pilot.press("a")
        await wait_for(
            pilot, lambda: app.screen.view.row.status == "investigating", what="acknowledged"
        )
        # the runbook stopped at verify and the check is still down: each asks once
        incident_screen = app.screen
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="mitigate?")
        await pilot.press("y")
        await wait_for(
            pilot, lambda: incident_screen.view.row.status == "mitigated", what="mitigated"
        )
        await wait_for(pilot, lambda: app.screen is incident_screen, what="incident screen")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="resolve?")
        await pilot.press("y")
        await wait_for(
            pilot, lambda: incident_screen.view.row.status == "resolved", what="resolved"
        )

    # the timeline in the database holds every action, in order, with the right milestones
    svc = session.incidents
    events = svc.events(incident)
    got = [(e.kind, e.data.get("name") or e.data.get("step") or e.data.get("to")) for e in events]
    assert got == [
        ("declared", None),
        ("milestone", "detected"),
        ("milestone", "declared"),
        ("runbook_attached", None),
        ("step_done", "what-changed"),
        ("decision", "rolled-out"),
        ("step_done", "rollback"),
        ("milestone", "acknowledged"),
        ("status_changed", "investigating"),
        ("status_changed", "mitigated"),
        ("milestone", "mitigated"),
        ("status_changed", "resolved"),
        ("milestone", "resolved"),
    ]
    assert events[4].data["note"] == "v43 rolled out 03:12"
    assert events[5].data["choice"] == "Yes"
    view = svc.get(incident)
    assert view.row.detected_source == "check"
    assert view.row.detected_at == first_failure
    assert view.row.declared_from_check == "fraud.ready"
    assert view.row.service == "fraud-scoring"
    assert svc.verify(incident).ok
    session.close()


async def test_runbook_search_filter_and_pinned(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        app.apply_views(fixed_views())
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbooksScreen), what="runbooks")
        screen = app.screen
        # what fits the failing checks is pinned on top, with the reason
        assert screen.ids[0] == "fraud-latency"
        first = str(screen.query_one("#runbook-list", OptionList).get_option_at_index(0).prompt)
        assert (
            first.startswith("★ fraud-latency")
            and "fits now: check fraud.ready names this runbook" in first
        )
        await pilot.press(*"gpu mem")
        await wait_for(pilot, lambda: screen.ids[:1] == ["gpu-oom"], what="search result")
        await wait_for(pilot, lambda: screen.shown == "gpu-oom", what="the preview to follow")
        assert "GPU" in str(screen.query_one("#runbook-preview").source)
        for _ in "gpu mem":
            await pilot.press("backspace")
        await pilot.press("ctrl+f", "ctrl+f")  # all -> serving -> data
        await wait_for(pilot, lambda: screen.category == "data", what="category")
        lib = fixed_session.library
        assert screen.ids and all(lib.get(i).summary.category == "data" for i in screen.ids)


async def _open_triage_on(app, pilot, session, step_to: str):
    rb = session.library.get("fraud-latency").runbook
    view = session.incidents.declare("fraud slow", "SEV2", service="fraud-scoring", runbook=rb)
    if step_to == "rollback":
        session.incidents.step(view.id, "what-changed", "done")
        session.incidents.decide(view.id, "rolled-out", "Yes")
    app.push_screen(TriageScreen(view.id))
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, TriageScreen) and app.screen.state is not None,
        what="triage",
    )
    return view.id


async def test_command_runs_only_after_confirmation(tmp_path):
    from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS

    cfg = make_workspace(tmp_path, FIXED_CHECKS, allow_commands=True)
    session = Session(load_workspace(cfg))
    app = OncallApp(session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        ref = await _open_triage_on(app, pilot, session, "rollback")
        await pilot.press("e")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirmation"
        )
        shown = app.screen.query_one("#confirm-command", Static)
        assert str(shown.render()) == "echo rolled back"
        await pilot.press("escape")  # cancelled: nothing runs
        await wait_for(pilot, lambda: isinstance(app.screen, TriageScreen), what="back")
        assert [e.kind for e in session.incidents.events(ref)].count("command_run") == 0
        await pilot.press("e")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmCommandModal), what="confirmation"
        )
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(e.kind == "command_run" for e in session.incidents.events(ref)),
            what="command_run",
        )
    ev = next(e for e in session.incidents.events(ref) if e.kind == "command_run")
    assert ev.data["exit_code"] == 0 and ev.data["output"].strip() == "rolled back"
    assert ev.data["step"] == "rollback"
    assert ev.text == "ran `echo rolled back`: exit 0"
    session.close()


async def test_commands_are_off_by_default(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        ref = await _open_triage_on(app, pilot, fixed_session, "rollback")
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCommandModal)
        assert any("Running commands is off" in n.message for n in app._notifications)
        assert "command_run" not in [e.kind for e in fixed_session.incidents.events(ref)]


async def test_escalation_warning_after_the_runbook_deadline(fixed_session):
    clock = fixed_session.clock
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await _open_triage_on(app, pilot, fixed_session, "start")
        warning = app.screen.query_one("#escalation-warning", Static)
        assert not warning.has_class("-on")
        clock.advance(timedelta(minutes=31))
        app.screen.check_escalation()
        assert warning.has_class("-on")
        text = str(warning.render())
        assert (
            "ESCALATE" in text
            and "past the runbook's 30m" in text
            and "ml-platform-secondary" in text
        )


async def test_event_from_another_process_appears_live(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        view = fixed_session.incidents.declare("fraud slow", "SEV2")
        app.open_incident(view.id)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.last_seq > 0,
            what="incident",
        )
        url = fixed_session.store.url
        env = dict(
            os.environ,
            MLOPS_ONCALL_DATABASE=url.removeprefix("sqlite:///"),
            MLOPS_ONCALL_ACTOR="bob",
        )
        p = subprocess.run(
            [console_script(), "incident", "note", view.id, "from", "the", "other", "terminal"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert p.returncode == 0, p.stderr
        table = app.screen.query_one("#timeline", DataTable)
        await wait_for(
            pilot,
            lambda: any(
                "from the other terminal" in str(table.get_row_at(i)[4])
                for i in range(table.row_count)
            ),
            timeout=5,
            what="the other terminal's note",
        )
        row = table.get_row_at(table.row_count - 1)
        assert str(row[2]) == "bob" and str(row[3]) == "note"


async def test_note_typed_in_the_incident_screen_is_recorded(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        view = fixed_session.incidents.declare("fraud slow", "SEV2")
        app.open_incident(view.id)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
            what="incident",
        )
        await pilot.press("n", *"p99 at 900ms", "enter")
        await wait_for(
            pilot,
            lambda: any(e.text == "p99 at 900ms" for e in fixed_session.incidents.events(view.id)),
            what="note",
        )
    assert fixed_session.incidents.events(view.id)[-1].ts >= T0


async def test_the_demo_shows_inject_fault_from_the_first_frame(fixed_session):
    """The key is there before the fake system runs; a fault sent that early says why not."""
    from mlops_oncall.ui.widgets.lean_footer import LeanFooter

    app = OncallApp(fixed_session, live=False, fake_system=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        footer = app.screen.query_one(LeanFooter)
        await wait_for(pilot, lambda: "Inject fault" in str(footer._keys()), what="the key")
        app._send_fault({"service": "fraud-scoring", "fault": "latency", "params": {}})
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert "The fake ML system is still starting: try again in a moment." in messages


async def test_the_footer_is_rebuilt_only_when_its_keys_change(fixed_session):
    from mlops_oncall.ui.widgets.lean_footer import LeanFooter

    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        footer = app.screen.query_one(LeanFooter)
        await wait_for(pilot, lambda: footer.children, what="the footer's keys")
        keys = list(footer.children)
        app.refresh_bindings()  # nothing changed: the same key widgets stay
        await pilot.pause()
        await pilot.pause()
        assert list(footer.children) == keys
        app.fake_system = True  # "Inject fault" becomes available
        app.refresh_bindings()
        await wait_for(pilot, lambda: list(footer.children) != keys, what="a rebuild")
        assert "Inject fault" in [getattr(k, "description", "") for k in footer.children]


async def test_an_alarm_quotes_gatus_placeholders_as_written(fixed_session):
    """Textual's markup read "[RESPONSE_TIME]" as a tag and dropped it from the toast."""
    from datetime import UTC, datetime

    from mlops_oncall.checks.state import Transition

    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        now = datetime(2026, 11, 28, tzinfo=UTC)
        alarm = Transition(
            "fraud.live", "up", "degraded", now, now, "condition",
            "[RESPONSE_TIME] = 403ms, expected < 250", {}, now,
        )  # fmt: skip
        app.apply_views(fixed_views(), [alarm])
        await wait_for(pilot, lambda: app._notifications, what="the alarm")
        (note,) = list(app._notifications)
        assert note.markup is False  # drawn as written, placeholders and all
        assert "DEGRADED: [RESPONSE_TIME] = 403ms, expected < 250." in note.message


async def test_alarms_of_one_round_are_one_toast(fixed_session):
    """A model server going down fails its live, ready and model checks at once: three toasts
    covered half of an 80x24 screen and the Declare dialog opened from it."""
    from datetime import UTC, datetime

    from mlops_oncall.checks.state import Transition

    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        now = datetime(2026, 11, 28, tzinfo=UTC)
        alarms = [
            Transition(cid, "up", "down", now, now, "timeout", "no response", {}, now)
            for cid in ("fraud.live", "fraud.ready")
        ]
        app.apply_views(fixed_views(), alarms)
        await wait_for(pilot, lambda: app._notifications, what="the alarm")
        (note,) = list(app._notifications)
        assert note.message.startswith("2 checks failing: fraud.live DOWN, fraud.ready DOWN.")
        assert note.severity == "error"


async def test_a_note_with_brackets_is_shown_as_written(fixed_session):
    """DataTable read str cells as markup: "[error]" vanished and "[/]" ended the app."""
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        view = fixed_session.incidents.declare("fraud slow", "SEV2")
        text = "saw [error] in the logs; closing [/] tag; [STATUS] == 200"
        fixed_session.incidents.note(view.id, text)
        app.open_incident(view.id)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, IncidentScreen) and app.screen.last_seq > 0,
            what="incident",
        )
        table = app.screen.query_one("#timeline", DataTable)
        await pilot.pause()
        drawn = "".join(s.text for y in range(table.size.height) for s in table.render_line(y))
        assert text[:40] in drawn
        assert app.is_running
