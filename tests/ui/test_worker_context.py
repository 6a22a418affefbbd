"""A thread worker whose screen was popped still reaches the app (esc right after ctrl+e)."""

from __future__ import annotations

import threading

from textual import work
from textual.screen import Screen

from mlops_oncall.ui.app import OncallApp
from tests.ui.conftest import wait_for


class _Slow(Screen):
    def __init__(self, go: threading.Event, done: list) -> None:
        super().__init__()
        self.go, self.done = go, done

    def on_mount(self) -> None:
        self.job()

    @work(thread=True, exit_on_error=True)
    def job(self) -> None:
        self.go.wait(30)
        # raised NoActiveAppError (ending the app) once the screen had left the stack
        self.app.call_from_thread(self.done.append, "reached the app")


async def test_a_popped_screens_thread_worker_reaches_the_app(fixed_session):
    go, done = threading.Event(), []
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        screen = _Slow(go, done)
        await app.push_screen(screen)
        await pilot.pause()
        app.pop_screen()
        await wait_for(
            pilot,
            lambda: screen not in app.screen_stack and screen.parent is None,
            what="the screen detached",
        )
        go.set()
        await wait_for(pilot, lambda: done, what="the worker's call")
        assert app.is_running and app.return_code in (None, 0)


def test_a_tui_that_ended_on_an_error_exits_non_zero():
    """Textual sets return_code 1 when the app ends on an exception; the CLI exited 0."""
    import pytest

    from mlops_oncall.cli.tui import _exit_like

    class Ended:
        return_code = 1

    with pytest.raises(SystemExit) as exc:
        _exit_like(Ended())
    assert exc.value.code == 1
    Ended.return_code = 0
    _exit_like(Ended())  # a clean quit returns normally
