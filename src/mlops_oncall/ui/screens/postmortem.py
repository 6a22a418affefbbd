"""The postmortem screen: write the narrative beside a live preview of the whole document.

The document's context (timeline, milestones, runbook, checks) is read once; typing only
re-renders the template with the field being written, so the preview follows every pause in
typing. ctrl+s records the field (an event, like `incident set`); ctrl+e exports the Markdown
to the workspace's postmortems folder and offers the candidate risks.
"""

from __future__ import annotations

import copy
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.markdown_view import MarkdownView

FIELDS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("root_cause", "Root causes"),
    ("contributing_factors", "Contributing factors"),
    ("trigger", "Trigger"),
    ("resolution", "Resolution"),
    ("went_well", "What went well (one a line)"),
    ("went_wrong", "What went wrong (one a line)"),
    ("lucky", "Where we got lucky (one a line)"),
)
LESSONS = ("went_well", "went_wrong", "lucky")


class PostmortemScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="postmortem.back"),
        # priority: the editor has focus, and TextArea uses ctrl+e and ctrl+k for itself
        Binding("ctrl+s", "save", "Save field", id="postmortem.save", priority=True),
        Binding("ctrl+e", "export", "Export", id="postmortem.export", priority=True),
        Binding(
            "ctrl+k", "candidates", "Candidate risks", id="postmortem.candidates", priority=True
        ),
    ]

    def __init__(self, incident_id: str):
        super().__init__()
        self.incident_id = incident_id
        self.context: dict | None = None
        self.row: dict | None = None
        self.field = FIELDS[0][0]
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        with Horizontal(id="postmortem-body"):
            with Vertical(id="postmortem-form", classes="panel") as form:
                form.border_title = f"Postmortem of {self.incident_id}"
                yield OptionList(
                    *[Option(label, id=name) for name, label in FIELDS], id="postmortem-fields"
                )
                yield TextArea("", id="postmortem-editor", soft_wrap=True, show_line_numbers=False)
                yield Static(
                    Text(
                        "ctrl+s records the field in the timeline; the preview follows as you type.",
                        style="dim",
                    ),
                    id="postmortem-hint",
                )
            with Vertical(id="postmortem-preview-pane", classes="panel") as pv:
                pv.border_title = "Preview"
                yield MarkdownView("*Loading…*", id="postmortem-preview")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#postmortem-fields", OptionList).highlighted = 0
        self.load()

    @work(thread=True, exclusive=True, group="postmortem-load")
    def load(self) -> None:
        from mlops_oncall.reports.postmortem import build_context
        from mlops_oncall.reports.sources import load_sources

        s = self.app.session  # type: ignore[attr-defined]
        sources = load_sources(s.checks_file or s.workspace.checks_file, s.redactor)
        ctx = build_context(s.store, self.incident_id, sources=sources, clock=s.clock)
        row = s.incidents.get(self.incident_id).row
        self.app.call_from_thread(self._loaded, ctx, row)

    def _loaded(self, ctx, row) -> None:
        self.context, self.row = ctx, row
        self._edit(self.field)
        self.render_preview()

    def _edit(self, name: str) -> None:
        self.field = name
        editor = self.query_one("#postmortem-editor", TextArea)
        editor.load_text((self.row or {}).get(name) or "")
        label = dict(FIELDS)[name]
        self.query_one(
            "#postmortem-form"
        ).border_title = f"Postmortem of {self.incident_id} · {label}"

    @on(OptionList.OptionHighlighted, "#postmortem-fields")
    def _field(self, event: OptionList.OptionHighlighted) -> None:
        if self.row is not None and event.option.id and event.option.id != self.field:
            self._edit(event.option.id)

    @on(OptionList.OptionSelected, "#postmortem-fields")
    def _go_edit(self) -> None:
        self.query_one("#postmortem-editor").focus()

    @on(TextArea.Changed, "#postmortem-editor")
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.3, self.render_preview)

    def current_text(self) -> str:
        return self.query_one("#postmortem-editor", TextArea).text

    def render_preview(self) -> None:
        """The whole document, with the field being written as it is now."""
        from mlops_oncall.reports import text as fmt
        from mlops_oncall.reports.postmortem import TEMPLATE
        from mlops_oncall.reports.render import render

        if self.context is None:
            return
        ctx = copy.deepcopy(self.context)
        value = self.current_text().strip() or None
        if self.field in LESSONS:
            ctx["lessons"][self.field] = fmt.items(value)
        else:
            ctx["narrative"][self.field] = value
        s = self.app.session  # type: ignore[attr-defined]
        try:
            md = render(TEMPLATE, ctx, templates_dir=s.workspace.templates_dir)
        except Exception as exc:  # a broken workspace template: say so in the preview
            md = f"**The template could not be rendered:** {exc}"
        self.query_one("#postmortem-preview", MarkdownView).update(s.redactor.text(md))

    def action_save(self) -> None:
        value = self.current_text().strip()
        name = self.field

        def saved() -> None:
            if self.row is not None:
                self.row[name] = value
            self.notify(f"{dict(FIELDS)[name]} recorded")

        self.app.run_core(
            f"save {name}",
            self.app.session.incidents.set_field,
            self.incident_id,
            name,
            value,
            after=saved,
        )  # type: ignore[attr-defined]

    def export_path(self) -> Path:
        from mlops_oncall.paths import user_data_dir

        ws = self.app.session.workspace  # type: ignore[attr-defined]
        folder = ws.path(ws.config.postmortems) or (user_data_dir() / "postmortems")
        return folder / f"{self.incident_id}.md"

    def action_export(self) -> None:
        self._export(self.export_path())

    @work(thread=True, group="postmortem-export")
    def _export(self, path: Path) -> None:
        from mlops_oncall.incidents.service import IncidentError
        from mlops_oncall.reports.postmortem import render_postmortem
        from mlops_oncall.reports.sources import load_sources
        from mlops_oncall.ui.exports import export_document

        s = self.app.session  # type: ignore[attr-defined]
        sources = load_sources(s.checks_file or s.workspace.checks_file, s.redactor)
        try:
            text = render_postmortem(
                s.store,
                self.incident_id,
                sources=sources,
                clock=s.clock,
                templates_dir=s.workspace.templates_dir,
            )
        except IncidentError as exc:  # a broken workspace template: say so, keep the screen
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        written = export_document(self, s, path, text)
        if written is not None:
            self.app.call_from_thread(
                self.notify, f"Wrote {written}. ctrl+k offers the candidate risks."
            )

    def action_candidates(self) -> None:
        from mlops_oncall.ui.screens.risks import CandidateRisksModal

        self.app.push_screen(CandidateRisksModal(self.incident_id))

    def action_back(self) -> None:
        self.app.pop_screen()
