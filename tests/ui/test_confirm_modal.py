"""The generic confirmation: y goes ahead, esc keeps things as they are, the footer says what y
does, and the lines are shown as written (stored text cannot drive the terminal)."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Button, Static

from mlops_oncall.ui.modals import ConfirmModal
from mlops_oncall.ui.widgets.lean_footer import LeanFooter

from .conftest import wait_for


class _Host(App[None]):
    def __init__(self, modal: ConfirmModal):
        super().__init__()
        self.modal = modal
        self.answers: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.answers.append)


async def _answer(keys: tuple[str, ...], modal: ConfirmModal | None = None) -> list[object]:
    modal = modal or ConfirmModal("Mitigate INC-0001?", ["1 open action item"], "Mitigate anyway")
    app = _Host(modal)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen is modal, what="the dialog")
        await pilot.press(*keys)
        await wait_for(pilot, lambda: app.answers, what="an answer")
    return app.answers


async def test_y_confirms_and_escape_declines():
    assert await _answer(("y",)) == [True]
    assert await _answer(("escape",)) == [False]


async def test_a_stray_enter_does_not_confirm():
    assert await _answer(("enter",)) == [False]


async def test_footer_and_button_name_the_answer_and_lines_are_plain_text():
    modal = ConfirmModal(
        "Discard?", ["note [bold]x[/bold] \x1b]52;c;aGk=\x07 kept"], yes_label="Discard it"
    )
    app = _Host(modal)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen is modal, what="the dialog")
        footer = modal.query_one(LeanFooter)
        keys = [b.description for _n, b, _e, _t in modal.active_bindings.values() if b.show]
        assert "Discard it" in keys and footer is not None
        assert str(modal.query_one("#yes", Button).label) == "Discard it (y)"
        shown = "\n".join(str(s.render()) for s in modal.query(Static))
        assert "[bold]x[/bold]" in shown  # markup is not interpreted
        assert "\x1b" not in shown and "\\x1b" in shown
        await pilot.press("y")
    assert app.answers == [True]
