"""The shift hand-off note (the same document as `mlops-oncall handoff`), and recording it.

Recording asks first: it appends a `handoff` event to every open incident's timeline, and the
next note starts from it, on every terminal sharing the database.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header

from mlops_oncall.formats.words import plural
from mlops_oncall.ui.modals import ConfirmModal
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.markdown_view import MarkdownView


class HandoffScreen(Screen):
    DEFAULT_CSS = "#handoff-doc { height: 1fr; }"
    BINDINGS = [
        Binding("escape", "back", "Back", id="handoff.back"),
        Binding("ctrl+s", "record", "Record hand-off", id="handoff.record", priority=True),
    ]

    def __init__(self):
        super().__init__()
        self.context: dict[str, Any] | None = None  # the note on screen, once loaded

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        with Vertical(id="handoff-doc", classes="panel") as d:
            d.border_title = "Shift hand-off"
            yield MarkdownView("*Loading…*", id="handoff-markdown")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="handoff-load")
    def load(self) -> None:
        from mlops_oncall.reports import handoff
        from mlops_oncall.reports.render import render_document

        session = oncall(self).session
        sources = session.sources()
        try:
            ctx = handoff.build_context(sources=sources, **session.handoff_inputs())
            text = render_document(
                handoff.TEMPLATE, ctx, sources, templates_dir=session.workspace.templates_dir
            )
        except Exception as exc:  # a workspace template that does not render: say why
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._show, ctx, text)

    def _show(self, ctx: dict[str, Any], text: str) -> None:
        self.context = ctx
        self.query_one("#handoff-markdown", MarkdownView).update(text)
        n = len(ctx["open_incidents"])
        self.query_one(
            "#handoff-doc"
        ).border_title = f"Shift hand-off · {plural(n, 'open incident')} · since {ctx['since']}"

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_record(self) -> None:
        ctx = self.context
        if ctx is None:
            self.notify("Still loading…")
            return
        ids = [i["id"] for i in ctx["open_incidents"]]
        if not ids:
            self.notify("No open incident: there is nothing to record the hand-off on.")
            return
        lines = [
            f"A hand-off event goes on the timeline of {plural(len(ids), 'open incident')}: "
            f"{', '.join(ids)}.",
            "The next hand-off note, on any terminal, starts from it.",
        ]
        self.app.push_screen(
            ConfirmModal("Record the hand-off?", lines, yes_label="Record hand-off"),
            self._confirmed,
        )

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.record()

    @work(thread=True, exclusive=True, group="handoff-record")
    def record(self) -> None:
        from mlops_oncall.reports import handoff
        from mlops_oncall.reports.text import NONE

        session = oncall(self).session
        ctx = self.context or {}
        since = ctx.get("since")
        try:
            start = handoff.window(session.incidents, session.clock.now()).since
            recorded = handoff.record_handoff(session.incidents, start)
        except Exception as exc:  # the database went away: the note stays, nothing recorded
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        message = (
            f"Recorded the hand-off on {plural(len(recorded), 'open incident')} "
            f"(the note covered since {since or NONE})."
        )
        self.app.call_from_thread(self.notify, message)
        self.app.call_from_thread(self.load)
