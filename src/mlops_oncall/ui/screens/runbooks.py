"""The runbooks screen: search as you type, a category filter, a Markdown preview.

Runbooks that fit the checks failing right now are pinned at the top; stale ones carry a badge.
Opened from an incident, Enter attaches the highlighted runbook to it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, OptionList, Select
from textual.widgets.option_list import Option

from mlops_oncall.runbooks.render import runbook_markdown
from mlops_oncall.runbooks.schema import CATEGORIES
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.markdown_view import MarkdownView
from mlops_oncall.ui.widgets.refused import RefusedBanner
from mlops_oncall.ui.widgets.search_input import SearchInput


class RunbooksScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="runbooks.back"),
        Binding("slash", "focus_search", "Search", id="runbooks.search"),
        Binding("ctrl+f", "cycle_category", "Category", id="runbooks.category"),
        Binding("down", "focus_list", "List", id="runbooks.list", show=False),
    ]

    def __init__(self, attach_to: str | None = None, service: str | None = None):
        super().__init__()
        self.attach_to = attach_to
        self.service = service
        self.category: str | None = None
        self.ids: list[str] = []
        self.shown: str | None = None  # the runbook in the preview
        self._preview_timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        yield RefusedBanner()
        with Horizontal(id="runbooks-screen"):
            with Vertical(id="runbook-list-pane", classes="panel") as lp:
                lp.border_title = (
                    "Runbooks" if not self.attach_to else f"Attach a runbook to {self.attach_to}"
                )
                yield SearchInput(
                    placeholder="Search: title, symptoms, triggers, steps…", id="runbook-search"
                )
                yield Select(
                    [("All categories", "")] + [(c, c) for c in CATEGORIES],
                    value="",
                    allow_blank=False,
                    id="runbook-category",
                )
                yield OptionList(id="runbook-list")
            with Vertical(id="runbook-preview-pane", classes="panel") as pp:
                pp.border_title = "Preview"
                yield MarkdownView("", id="runbook-preview")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one("#runbook-search").focus()

    # -- list --------------------------------------------------------------------------------
    def refresh_list(self) -> None:
        app = oncall(self)
        lib = app.session.library
        query = self.query_one("#runbook-search", Input).value
        pinned = {s.runbook_id: s for s in app.current_suggestions(self.service)}
        if query.strip():
            entries = [h.entry for h in lib.search(query)]  # ranked by the search
        else:
            rank = {rid: i for i, rid in enumerate(pinned)}  # best match first
            entries = sorted(
                lib.entries.values(),
                key=lambda e: (
                    (0, rank[e.id], "", "") if e.id in rank else (1, 0, e.summary.category, e.id)
                ),
            )
        if self.category:
            entries = [e for e in entries if e.summary.category == self.category]
        ol = self.query_one("#runbook-list", OptionList)
        ol.clear_options()
        self.ids = []
        for e in entries:
            label = Text()
            if e.id in pinned:
                label.append("★ ", style="bold yellow")
            label.append(e.id, style="bold")
            label.append(f"  {e.summary.severity}  {e.summary.category}", style="dim")
            if e.stale:
                label.append("  STALE", style="bold black on yellow")
            if e.source == "workspace":
                label.append("  workspace", style="cyan")
            label.append(f"\n  {e.summary.title}")
            if e.id in pinned:
                label.append(f"\n  fits now: {'; '.join(pinned[e.id].reasons)}", style="yellow")
            ol.add_option(Option(label, id=e.id))
            self.ids.append(e.id)
        count = f"{len(entries)} runbook{'s' * (len(entries) != 1)}"
        pane = self.query_one("#runbook-list-pane")
        base = "Runbooks" if not self.attach_to else f"Attach a runbook to {self.attach_to} (Enter)"
        pane.border_title = f"{base} · {count}"
        if entries:
            ol.highlighted = 0
            self.preview(entries[0].id)
        else:
            self.shown = None
            self.query_one("#runbook-preview", MarkdownView).update("*No runbook matches.*")

    def preview(self, runbook_id: str) -> None:
        """Show a runbook once typing pauses: rendering costs more than a keystroke."""
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(0.12, lambda: self._render_preview(runbook_id))

    def _render_preview(self, runbook_id: str) -> None:
        if runbook_id == self.shown:
            return
        entry = oncall(self).session.library.get(runbook_id)
        if entry is not None:
            self.shown = runbook_id
            self.query_one("#runbook-preview", MarkdownView).update(
                runbook_markdown(entry.runbook, stale=entry.stale)
            )

    @on(Input.Changed, "#runbook-search")
    def _typed(self) -> None:
        self.refresh_list()

    @on(Input.Submitted, "#runbook-search")
    def _submitted(self) -> None:
        self.action_focus_list()

    @on(Select.Changed, "#runbook-category")
    def _category(self, event: Select.Changed) -> None:
        self.category = str(event.value) or None
        self.refresh_list()

    @on(OptionList.OptionHighlighted, "#runbook-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.preview(event.option.id)

    @on(OptionList.OptionSelected, "#runbook-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if not self.attach_to or not event.option.id:
            return
        entry = oncall(self).session.library.get(event.option.id)
        incident = self.attach_to

        def attached() -> None:
            from mlops_oncall.ui.screens.triage import TriageScreen

            self.app.pop_screen()
            self.app.push_screen(TriageScreen(incident))

        oncall(self).run_core(
            f"attach {entry.id}",
            oncall(self).session.incidents.attach,
            incident,
            entry.runbook,
            after=attached,
        )

    # -- actions -----------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_focus_search(self) -> None:
        self.query_one("#runbook-search").focus()

    def action_focus_list(self) -> None:
        self.query_one("#runbook-list").focus()

    def action_cycle_category(self) -> None:
        order = [None, *CATEGORIES]
        nxt = order[(order.index(self.category) + 1) % len(order)]
        self.query_one("#runbook-category", Select).value = nxt or ""
