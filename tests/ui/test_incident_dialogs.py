"""The incident screen's dialogs: the severity picker (starts on the current severity, does not
wrap, says what each one means, confirms a downgrade), validation that keeps a dialog open with
what was typed, and the questions mitigate and resolve ask when something is unfinished."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, make_workspace
from mlops_oncall.ui.modals import ConfirmModal, SeverityModal
from mlops_oncall.ui.screens.incident import IncidentScreen

from .conftest import wait_for

SIZE = (160, 45)


def _session(tmp_path: Path, extra: str = "") -> Session:
    cfg = make_workspace(tmp_path, FIXED_CHECKS)
    if extra:
        cfg.write_text(cfg.read_text() + extra)
    return Session(load_workspace(cfg), clock=FixedClock(T0))


async def _incident_screen(app, pilot, inc: str) -> IncidentScreen:
    await wait_for(pilot, lambda: app.ready, what="boot")
    app.open_incident(inc)
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
        what="incident screen",
    )
    return app.screen


def _severity(session, inc) -> str:
    return session.incidents.get(inc).row.severity


async def _until_severity(pilot, session, inc, sev) -> None:
    await wait_for(pilot, lambda: _severity(session, inc) == sev, what=f"severity {sev}")


async def test_severity_picker_starts_on_the_current_one_and_does_not_wrap(tmp_path):
    session = _session(tmp_path)
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            # the reported repro: v, Up, Enter on a SEV2 made it a SEV4
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            choices = app.screen.query_one("#choices", OptionList)
            assert choices.get_option_at_index(choices.highlighted).id == "SEV2"
            await pilot.press("up", "up", "up")  # stops at SEV1
            assert choices.get_option_at_index(choices.highlighted).id == "SEV1"
            await pilot.press("enter")  # an upgrade is not questioned
            await _until_severity(pilot, session, inc, "SEV1")
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            await wait_for(pilot, lambda: screen.view.row.severity == "SEV1", what="view")
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            choices = app.screen.query_one("#choices", OptionList)
            assert choices.get_option_at_index(choices.highlighted).id == "SEV1"
            await pilot.press(*["down"] * 6)  # stops at SEV4
            assert choices.get_option_at_index(choices.highlighted).id == "SEV4"
    finally:
        session.close()


async def test_a_downgrade_is_confirmed_and_each_severity_says_what_it_means(tmp_path):
    session = _session(
        tmp_path, "severities:\n  SEV3: Partial outage of one model, a fallback answers\n"
    )
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            choices = app.screen.query_one("#choices", OptionList)
            shown = {
                choices.get_option_at_index(i).id: str(choices.get_option_at_index(i).prompt)
                for i in range(choices.option_count)
            }
            assert "Partial outage of one model, a fallback answers" in shown["SEV3"]
            assert "user-facing outage" in shown["SEV1"]  # the defaults fill the rest
            assert "(now)" in shown["SEV2"]
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
            assert "Downgrade" in app.screen.title_text
            await pilot.press("escape")  # keep SEV2
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            await app.workers.wait_for_complete()
            assert _severity(session, inc) == "SEV2"
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, SeverityModal), what="picker")
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
            await pilot.press("y")
            await _until_severity(pilot, session, inc, "SEV3")
    finally:
        session.close()


async def _dialog(pilot, app, key, kind):
    await pilot.press(key)
    await wait_for(
        pilot, lambda: isinstance(app.screen, kind) and app.screen.query(Input), what=kind.__name__
    )
    return app.screen


async def _type_into(pilot, dialog, field_id: str, text: str) -> None:
    dialog.query_one(f"#{field_id}").focus()
    await pilot.pause()
    await pilot.press(*text)


async def test_action_item_with_a_bad_due_date_stays_open_with_what_was_typed(tmp_path):
    from datetime import timedelta

    from mlops_oncall.ui.modals import ActionItemModal

    session = _session(tmp_path)
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _incident_screen(app, pilot, inc)
            dialog = await _dialog(pilot, app, "A", ActionItemModal)
            await _type_into(pilot, dialog, "text", "Gate promotion on canary p99")
            await _type_into(pilot, dialog, "owner", "ml-platform")
            await _type_into(pilot, dialog, "due", "12/20")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "due" in dialog.errors(), what="refusal")
            assert app.screen is dialog  # still open
            assert (
                "cannot read the date '12/20'; use YYYY-MM-DD, today, tomorrow or +3d"
                in (dialog.errors()["due"])
            )
            assert dialog.query_one("#text", Input).value == "Gate promotion on canary p99"
            assert dialog.query_one("#owner", Input).value == "ml-platform"
            assert dialog.focused is dialog.query_one("#due", Input)
            # a day before the incident is refused beside the field too
            dialog.query_one("#due", Input).value = ""
            await pilot.press(*"2026-01-05", "enter")
            await wait_for(pilot, lambda: "before the incident" in dialog.errors().get("due", ""))
            assert app.screen is dialog
            dialog.query_one("#due", Input).value = ""
            await pilot.press(*"+3d", "enter")
            await wait_for(pilot, lambda: session.incidents.get(inc).actions, what="item added")
        item = session.incidents.get(inc).actions[0]
        assert str(item.due)[:10] == (T0.date() + timedelta(days=3)).isoformat()
        assert item.owner == "ml-platform"
    finally:
        session.close()


async def test_missing_fields_are_said_beside_each_field(tmp_path):
    from mlops_oncall.ui.modals import ActionItemModal, RoleModal

    session = _session(tmp_path)
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            dialog = await _dialog(pilot, app, "A", ActionItemModal)
            await pilot.press("enter")
            await wait_for(pilot, lambda: dialog.errors(), what="refusals")
            assert set(dialog.errors()) == {"text", "owner"} and app.screen is dialog
            await pilot.press(*"x")  # typing in the refused field clears its refusal
            await wait_for(pilot, lambda: "text" not in dialog.errors(), what="cleared")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            role = await _dialog(pilot, app, "o", RoleModal)
            await pilot.press("enter")
            await wait_for(pilot, lambda: role.errors(), what="refusal")
            assert "Who takes the role" in role.errors()["who"] and app.screen is role
            await pilot.press(*"bob", "enter")
            await wait_for(
                pilot, lambda: session.incidents.get(inc).roles.get("commander") == "bob"
            )
    finally:
        session.close()


async def test_declare_without_a_title_stays_open(tmp_path):
    from mlops_oncall.ui.modals import DeclareModal

    session = _session(tmp_path)
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            app.action_declare()
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, DeclareModal) and app.screen.query("#declare-title"),
                what="declare",
            )
            dialog = app.screen
            await _type_into(pilot, dialog, "declare-service", "fraud-scoring")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: dialog.errors(), what="refusal")
            assert "needs a title" in dialog.errors()["declare-title"] and app.screen is dialog
            assert dialog.query_one("#declare-service").value == "fraud-scoring"
    finally:
        session.close()


async def test_mitigate_asks_when_something_is_unfinished_and_records_the_answer(tmp_path):
    from mlops_oncall.ui.gallery.workspace import fixed_views

    session = _session(tmp_path)
    svc = session.incidents
    rb = session.library.get("fraud-latency").runbook
    inc = svc.declare(
        "Latency", "SEV2", service="fraud-scoring", runbook=rb, declared_from_check="fraud.ready"
    ).id
    svc.action_add(inc, "Gate promotion on canary p99", type="prevent", owner="ml-platform")
    calm = svc.declare("Nothing left", "SEV4", service="batch-scoring").id
    svc.ack(inc)
    svc.ack(calm)
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            app.apply_views(fixed_views())  # fraud.ready down, fraud.model-ready blocked by it
            screen = await _incident_screen(app, pilot, inc)
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
            lines = app.screen.lines
            assert app.screen.title_text == f"Mitigate {inc} with 4 things unfinished?"
            assert lines[0].startswith("• runbook fraud-latency stopped at step 1 of ")
            assert "• check fraud.ready is down" in lines
            assert "• check fraud.model-ready is down (blocked by fraud.ready)" in lines
            assert "• action item 1 open (prevent, ml-platform): Gate promotion on canary p99" in (
                lines
            )
            await pilot.press("escape")  # not now: nothing changes
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            await app.workers.wait_for_complete()
            assert svc.get(inc).row.status == "investigating"
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
            await pilot.press("y")
            await wait_for(pilot, lambda: svc.get(inc).row.status == "mitigated", what="done")
            await wait_for(pilot, lambda: app.screen is screen, what="back")
            app.open_incident(calm)
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, IncidentScreen)
                    and app.screen.incident_id == calm
                    and app.screen.view is not None
                ),
                what="calm incident",
            )
            await pilot.press("m")  # nothing unfinished: no question
            await wait_for(pilot, lambda: svc.get(calm).row.status == "mitigated", what="calm")
            assert not isinstance(app.screen, ConfirmModal)
    finally:
        session.close()
    changed = [e for e in svc.events(inc) if e.kind == "status_changed"]
    note = changed[-1].data["note"]
    assert changed[-1].data["to"] == "mitigated"
    assert note.startswith("proceeded despite: runbook fraud-latency stopped at step 1 of ")
    assert "check fraud.ready is down" in note and "action item 1 open" in note
    calm_changes = [e for e in svc.events(calm) if e.kind == "status_changed"]
    assert [(e.data["to"], e.data["note"]) for e in calm_changes][-1] == ("mitigated", None)


async def test_mitigate_in_triage_is_refused_before_any_question(tmp_path):
    """`m` on a triage incident asked about unfinished work, then the answer met a refusal."""
    session = _session(tmp_path)
    svc = session.incidents
    rb = session.library.get("fraud-latency").runbook
    inc = svc.declare("Latency", "SEV2", service="fraud-scoring", runbook=rb).id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            await pilot.press("m")
            await wait_for(pilot, lambda: app._notifications, what="the refusal")
            (note,) = list(app._notifications)
            assert note.message == f"{inc} is triage: acknowledge it first (a), then mitigate"
            assert app.screen is screen  # no question was asked
            assert svc.get(inc).row.status == "triage"
    finally:
        session.close()


async def test_recent_deploys_follow_a_rollback_recorded_meanwhile(tmp_path):
    """The panel loaded once: v43 still read "succeeded" after the rollback was recorded.
    The store's watcher reports the deploy written (data_version), with no timer."""
    from textual.widgets import DataTable

    session = _session(tmp_path)
    session.deploys.record("fraud-scoring", "v43", "model", "succeeded")
    inc = session.incidents.declare("Latency", "SEV2", service="fraud-scoring").id
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _incident_screen(app, pilot, inc)
            deps = screen.query_one("#incident-deploys", DataTable)

            def outcome() -> str:
                return str(deps.get_row_at(0)[3]) if deps.row_count else ""

            await wait_for(pilot, lambda: outcome() == "succeeded", what="the deploy")
            session.deploys.record("fraud-scoring", "v43", "model", "rolled_back", incident=inc)
            await wait_for(pilot, lambda: outcome() == "rolled_back", what="the rollback shown")
    finally:
        session.close()
