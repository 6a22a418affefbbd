"""Postmortem text is never thrown away: it survives moving between fields, leaving the screen
and quitting (as a draft, not an event per keystroke), and leaving or quitting asks first while
a field is not recorded. ctrl+s still records the field as one event."""

from __future__ import annotations

from textual.widgets import OptionList, TextArea

from mlops_oncall.config import load_workspace
from mlops_oncall.reports.drafts import draft_key
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.modals import ConfirmModal
from mlops_oncall.ui.screens.postmortem import PostmortemScreen

from .conftest import wait_for


def _incident(session) -> str:
    return session.incidents.declare("Drift after upstream change", "SEV2", service="x").id


async def _open(app, pilot, inc: str) -> PostmortemScreen:
    await wait_for(pilot, lambda: app.ready, what="boot")
    app.open_postmortem(inc)
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, PostmortemScreen) and app.screen.context is not None,
        what="postmortem",
    )
    return app.screen


async def _to_field(pilot, screen: PostmortemScreen, name: str) -> None:
    """As a user does: back to the list of fields, onto the field, Enter to write in it."""
    fields = screen.query_one("#postmortem-fields", OptionList)
    fields.focus()
    await pilot.pause()
    target = next(i for i in range(fields.option_count) if fields.get_option_at_index(i).id == name)
    while fields.highlighted != target:
        await pilot.press("down" if fields.highlighted < target else "up")
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.focused is screen.query_one(TextArea), what="editor")


def _editor(screen) -> str:
    return screen.query_one("#postmortem-editor", TextArea).text


def _drafts(session, inc) -> dict[str, str]:
    return session.drafts.load(draft_key(inc, session.incidents.get(inc).row.declared_at))


async def test_text_survives_moving_between_fields_without_an_event_per_keystroke(fixed_session):
    inc = _incident(fixed_session)
    seq_before, _ = fixed_session.incidents.head(inc)
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(app, pilot, inc)
        await _to_field(pilot, screen, "summary")
        await pilot.press(*"Scores drifted")
        await _to_field(pilot, screen, "impact")
        assert _editor(screen) == ""
        await pilot.press(*"None")
        await _to_field(pilot, screen, "summary")
        assert _editor(screen) == "Scores drifted"
        await _to_field(pilot, screen, "impact")
        assert _editor(screen) == "None"
        # both are written as drafts at a pause in typing, and marked as not recorded
        await wait_for(
            pilot,
            lambda: _drafts(fixed_session, inc) == {"summary": "Scores drifted", "impact": "None"},
            what="drafts written",
        )
        fields = screen.query_one("#postmortem-fields", OptionList)
        assert "draft" in str(fields.get_option("summary").prompt)
        assert "draft" not in str(fields.get_option("trigger").prompt)
        # the preview shows every field as typed, not only the one being edited
        assert "Scores drifted" in screen.query_one("#postmortem-preview").source
    assert fixed_session.incidents.head(inc)[0] == seq_before  # no event per keystroke


async def test_leaving_asks_and_the_text_is_there_again(fixed_session):
    inc = _incident(fixed_session)
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(app, pilot, inc)
        await _to_field(pilot, screen, "summary")
        await pilot.press(*"Half a sentence")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirmation")
        assert "Summary not recorded" in "\n".join(app.screen.lines)
        await pilot.press("escape")  # stay
        await wait_for(pilot, lambda: app.screen is screen, what="back on the postmortem")
        assert _editor(screen) == "Half a sentence"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, PostmortemScreen), what="left")
        screen = await _open(app, pilot, inc)
        assert _editor(screen) == "Half a sentence"


async def test_quitting_asks_and_a_new_app_shows_the_draft(fixed_session):
    inc = _incident(fixed_session)
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(app, pilot, inc)
        await _to_field(pilot, screen, "root_cause")
        await pilot.press(*"A missing canary gate")
        await pilot.press("ctrl+q")  # at once: inside the typing pause
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirmation")
        assert "Root causes not recorded" in "\n".join(app.screen.lines)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert _drafts(fixed_session, inc) == {"root_cause": "A missing canary gate"}

    again = Session(load_workspace(fixed_session.workspace.config_file), clock=fixed_session.clock)
    app = OncallApp(again, live=False)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            screen = await _open(app, pilot, inc)
            await _to_field(pilot, screen, "root_cause")
            assert _editor(screen) == "A missing canary gate"
    finally:
        again.close()


async def test_ctrl_s_records_one_event_and_clears_the_draft(fixed_session):
    inc = _incident(fixed_session)
    seq_before, _ = fixed_session.incidents.head(inc)
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(app, pilot, inc)
        await _to_field(pilot, screen, "summary")
        await pilot.press(*"Recorded now")
        await wait_for(pilot, lambda: _drafts(fixed_session, inc), what="draft")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not _drafts(fixed_session, inc), what="draft cleared")
        await pilot.press("escape")  # nothing pending: no question
        await wait_for(pilot, lambda: not isinstance(app.screen, PostmortemScreen), what="left")
    events = fixed_session.incidents.events(inc, after_seq=seq_before)
    assert [(e.kind, e.data["field"]) for e in events] == [("field_set", "summary")]
    assert fixed_session.incidents.get(inc).row.summary == "Recorded now"
