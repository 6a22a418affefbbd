"""The drill debrief: the scored Markdown beside the improvement items; Enter accepts one
(it becomes an action item on the drill's incident)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList
from textual.widgets.option_list import Option

from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.markdown_view import MarkdownView


class DebriefScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back", id="debrief.back")]

    def __init__(self, drill_id: int | None = None):
        super().__init__()
        self.drill_id = drill_id
        self.items: list = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        with Horizontal(id="debrief-body"):
            with Vertical(id="debrief-doc", classes="panel") as d:
                d.border_title = "Drill debrief"
                yield MarkdownView("*Loading…*", id="debrief-markdown")
            with Vertical(id="debrief-items", classes="panel") as i:
                i.border_title = "Improvement items (Enter accepts)"
                yield OptionList(id="improvements")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="debrief")
    def load(self) -> None:
        from mlops_oncall.drills.debrief import debrief

        s = oncall(self).session
        if self.drill_id is None:
            self.drill_id = s.drills.latest_id()
        if self.drill_id is None:
            self.app.call_from_thread(
                self._show,
                "*No drill has been run yet: `mlops-oncall drill run SCENARIO`.*",
                [],
                "None: no drill to debrief yet.",
            )
            return
        self.app.call_from_thread(self._show, *debrief(s.drills, s.incidents, self.drill_id))

    def _show(self, text: str, items: list, none_line: str) -> None:
        self.items = items
        self.query_one("#debrief-markdown", MarkdownView).update(text)
        ol = self.query_one("#improvements", OptionList)
        ol.clear_options()
        for item in items:
            ol.add_option(Option(Text(f"{item.number}. {item.text}"), id=str(item.number)))
        if not items:
            ol.add_option(Option(Text(none_line, style="dim"), id=""))
        ol.highlighted = 0
        ol.focus()

    @on(OptionList.OptionSelected, "#improvements")
    def _accept(self, event: OptionList.OptionSelected) -> None:
        if not event.option.id or self.drill_id is None:
            return
        from mlops_oncall.drills.debrief import accept

        number = int(event.option.id)
        drill_id = self.drill_id

        def done() -> None:
            self.notify(f"Improvement {number} is now an action item on the drill's incident")

        app = oncall(self)
        s = app.session
        app.run_core(
            f"accept improvement {number}",
            accept,
            s.drills,
            s.incidents,
            drill_id,
            number,
            after=done,
        )

    def action_back(self) -> None:
        self.app.pop_screen()
