"""The postmortem screen: write the narrative beside a live preview of the whole document.

The document's context (timeline, milestones, runbook, checks) is read once; typing only
re-renders the template with the field being written, so the preview follows every pause in
typing. ctrl+s records the field (an event, like `incident set`); ctrl+e exports the Markdown
to the workspace's postmortems folder and offers the candidate risks.

Text typed but not recorded is kept per field while moving between fields, and written as a
draft (reports/drafts.py, not an event) at each pause in typing, so it survives leaving the
screen and quitting; both ask first while some field is not recorded.
"""

from __future__ import annotations

import copy
import re
import threading
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from mlops_oncall.ui.oncall import oncall
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
    ("model_versions", "ML impact: model versions involved"),
    ("predictions_affected", "ML impact: predictions affected"),
    ("decisions_to_review", "ML impact: decisions to re-review"),
    ("labels_confirm_by", "ML impact: when labels confirm it"),
    ("authors", "Authors"),
)
POSTMORTEM_STATUSES = ("draft", "final")  # what `incident set --postmortem-status` takes
LESSONS = ("went_well", "went_wrong", "lucky")
# The document tells its reader which command fills a gap; here the same gap is one key away
_CLI_HINT = re.compile(r"\(`mlops-oncall incident (\w+)[^`]*`\)")
TUI_HINTS = {
    "set": "(write it on the left; ctrl+s records it)",
    "milestone": "(ctrl+t sets it)",
    "attach": "(b on the incident screen attaches one)",
    "action": "(A on the incident screen adds one)",
}


def tui_hints(markdown: str) -> str:
    return _CLI_HINT.sub(lambda m: TUI_HINTS.get(m.group(1), ""), markdown)


HINT = "ctrl+s records the field in the timeline; the preview follows as you type."
DRAFT_MARK = "  ✎ draft"


class PostmortemScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="postmortem.back"),
        # priority: the editor has focus, and TextArea uses ctrl+e and ctrl+k for itself
        Binding("ctrl+s", "save", "Save field", id="postmortem.save", priority=True),
        Binding("ctrl+e", "export", "Export", id="postmortem.export", priority=True),
        Binding(
            "ctrl+k", "candidates", "Candidate risks", id="postmortem.candidates", priority=True
        ),
        Binding("ctrl+t", "milestones", "Milestones", id="postmortem.milestones", priority=True),
        Binding("ctrl+o", "status", "Draft/final", id="postmortem.status", priority=True),
    ]

    def __init__(self, incident_id: str):
        super().__init__()
        self.incident_id = incident_id
        self.context: dict | None = None
        self.row: dict | None = None
        self.field = FIELDS[0][0]
        self._timer = None
        # each field's text as typed; a field absent here shows what is recorded
        self.texts: dict[str, str] = {}
        self._draft_key: str | None = None
        self._draft_snapshot: dict[str, str] = {}
        self._draft_lock = threading.Lock()

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
                yield Static(Text(HINT, style="dim"), id="postmortem-hint")
            with Vertical(id="postmortem-preview-pane", classes="panel") as pv:
                pv.border_title = "Preview"
                yield MarkdownView("*Loading…*", id="postmortem-preview")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#postmortem-fields", OptionList).highlighted = 0
        self.load()

    @work(thread=True, exclusive=True, group="postmortem-load")
    def load(self) -> None:
        from mlops_oncall.reports.drafts import draft_key
        from mlops_oncall.reports.postmortem import build_context

        s = oncall(self).session
        sources = s.sources()
        ctx = build_context(self.incident_id, sources=sources, **s.postmortem_inputs())
        row = s.incidents.get(self.incident_id).row.model_dump()  # the screen's editable copy
        key = draft_key(self.incident_id, row["declared_at"])
        try:
            drafts = s.drafts.load(key)
        except OSError as exc:  # an unreadable drafts file costs the drafts, not the screen
            drafts = {}
            self.app.call_from_thread(
                self.notify, f"Drafts could not be read: {exc}", severity="warning"
            )
        self.app.call_from_thread(self._loaded, ctx, row, key, drafts)

    def _loaded(self, ctx, row, key, drafts) -> None:
        first = self.row is None
        typed = self.current_text()
        self.context, self.row, self._draft_key = ctx, row, key
        known = dict(FIELDS)
        # what is in memory wins over the stored drafts (a reload after a milestone is set)
        self.texts = {k: v for k, v in drafts.items() if k in known} | self.texts
        if typed or not first:  # typed before the first load finished, or being typed now
            self.texts[self.field] = typed
        if first:
            self._show(self.field)
        self._mark_drafts()
        self._show_status()
        self.render_preview()

    def recorded(self, name: str) -> str:
        return (self.row or {}).get(name) or ""

    def text_of(self, name: str) -> str:
        return self.texts.get(name, self.recorded(name))

    def unsaved(self) -> list[str]:
        """The fields whose text differs from what the timeline holds, in form order."""
        self._stash()
        return [
            name
            for name, _ in FIELDS
            if name in self.texts and self.texts[name].strip() != self.recorded(name).strip()
        ]

    def _stash(self) -> None:
        if self.row is not None:
            self.texts[self.field] = self.current_text()

    def _show(self, name: str) -> None:
        self.field = name
        editor = self.query_one("#postmortem-editor", TextArea)
        editor.load_text(self.text_of(name))
        label = dict(FIELDS)[name]
        self.query_one(
            "#postmortem-form"
        ).border_title = f"Postmortem of {self.incident_id} · {label}"

    def _edit(self, name: str) -> None:
        self._stash()  # the field being left keeps its text
        self._show(name)

    def _mark_drafts(self) -> None:
        """A mark beside each field not recorded yet, and a line saying what ctrl+s does."""
        unsaved = set(self.unsaved())
        fields = self.query_one("#postmortem-fields", OptionList)
        for name, label in FIELDS:
            prompt = Text(label)
            if name in unsaved:
                prompt.append(DRAFT_MARK, style="yellow")
            if str(fields.get_option(name).prompt) != str(prompt):
                fields.replace_option_prompt(name, prompt)
        hint = Text(HINT, style="dim")
        if self.field in unsaved:
            hint = Text(
                "Draft: kept on this machine, not in the timeline yet. ctrl+s records it.",
                style="yellow",
            )
        self.query_one("#postmortem-hint", Static).update(hint)

    @on(OptionList.OptionHighlighted, "#postmortem-fields")
    def _field(self, event: OptionList.OptionHighlighted) -> None:
        if self.row is not None and event.option.id and event.option.id != self.field:
            self._edit(event.option.id)
            self._mark_drafts()
            self.render_preview()

    @on(OptionList.OptionSelected, "#postmortem-fields")
    def _go_edit(self) -> None:
        self.query_one("#postmortem-editor").focus()

    @on(TextArea.Changed, "#postmortem-editor")
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.3, self._paused)

    def _paused(self) -> None:
        """A pause in typing: the preview follows and the draft is written."""
        self.render_preview()
        if self.row is None:
            return
        self._mark_drafts()
        self.queue_draft()

    # -- drafts ---------------------------------------------------------------------------------
    def _draft_fields(self) -> dict[str, str]:
        return {name: self.texts[name] for name in self.unsaved()}

    def queue_draft(self) -> None:
        if self._draft_key is None:
            return
        self._draft_snapshot = self._draft_fields()
        # an app worker: it finishes even when this screen is closed meanwhile
        self.app.run_worker(self._write_draft, thread=True, group="postmortem-draft")

    def _write_draft(self) -> None:
        # whichever writer takes the lock last writes the newest snapshot: none goes back in time
        with self._draft_lock:
            try:
                oncall(self).session.drafts.save(self._draft_key, self._draft_snapshot)
            except Exception as exc:  # a full disk: say so; the text is still on screen
                self.app.call_from_thread(
                    self.notify, f"Draft not saved: {exc}", severity="error", timeout=10
                )

    def save_drafts_now(self) -> None:
        """Before the app exits: the last keystrokes may be inside the typing pause."""
        if self._draft_key is None:
            return
        self._draft_snapshot = self._draft_fields()
        self._write_draft()

    def unsaved_lines(self) -> list[str]:
        """What a confirmation lists before leaving or quitting; empty when nothing is pending."""
        labels = dict(FIELDS)
        names = self.unsaved()
        if not names:
            return []
        return [
            f"{self.incident_id}: {', '.join(labels[n] for n in names)} not recorded in the "
            "timeline.",
            "The text is kept as a draft on this machine and is here again when you reopen "
            "the postmortem; ctrl+s records a field.",
        ]

    # -- preview and recording ------------------------------------------------------------------
    def current_text(self) -> str:
        return self.query_one("#postmortem-editor", TextArea).text

    def render_preview(self) -> None:
        """The whole document, with every field as it is written now (drafts included)."""
        from mlops_oncall.reports import text as fmt
        from mlops_oncall.reports.postmortem import TEMPLATE
        from mlops_oncall.reports.render import render

        if self.context is None:
            return
        self._stash()
        ctx = copy.deepcopy(self.context)
        for name, typed in self.texts.items():
            value = typed.strip() or None
            if name in LESSONS:
                ctx["lessons"][name] = fmt.items(value)
            else:
                ctx["narrative"][name] = value
        s = oncall(self).session
        try:
            md = render(TEMPLATE, ctx, templates_dir=s.workspace.templates_dir)
        except Exception as exc:  # a broken workspace template: say so in the preview
            md = f"**The template could not be rendered:** {exc}"
        self.query_one("#postmortem-preview", MarkdownView).update(tui_hints(s.redactor.text(md)))

    def action_save(self) -> None:
        value = self.current_text().strip()
        name = self.field

        def saved() -> None:
            if self.row is not None:
                self.row[name] = value
            self.notify(f"{dict(FIELDS)[name]} recorded")
            self._mark_drafts()
            self.queue_draft()  # the recorded field leaves the drafts

        oncall(self).run_core(
            f"save {name}",
            oncall(self).session.incidents.set_field,
            self.incident_id,
            name,
            value,
            after=saved,
        )

    def export_path(self) -> Path:
        from mlops_oncall.paths import user_data_dir

        ws = oncall(self).session.workspace
        folder = ws.path(ws.config.postmortems) or (user_data_dir() / "postmortems")
        return folder / f"{self.incident_id}.md"

    def action_export(self) -> None:
        self._export(self.export_path())

    @work(thread=True, group="postmortem-export")
    def _export(self, path: Path) -> None:
        from mlops_oncall.incidents.service import IncidentError
        from mlops_oncall.reports.postmortem import render_postmortem
        from mlops_oncall.ui.exports import export_document

        s = oncall(self).session
        sources = s.sources()
        try:
            text = render_postmortem(
                self.incident_id,
                sources=sources,
                templates_dir=s.workspace.templates_dir,
                **s.postmortem_inputs(),
            )
        except IncidentError as exc:  # a broken workspace template: say so, keep the screen
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        written = export_document(self, s, path, text)
        if written is not None:
            self.app.call_from_thread(
                self.notify, f"Wrote {written}. ctrl+k offers the candidate risks."
            )

    def action_milestones(self) -> None:
        """impact_started and the other milestones: the figures (TTD) follow at once."""
        from mlops_oncall.ui.screens.incident import milestone_dialog

        if self.row is not None:
            milestone_dialog(self.app, self.incident_id, self.row, self._milestone_set)

    def _milestone_set(self, view) -> None:
        # the context (figures, milestones) is read again; typed text and drafts stay
        for key in [k for k in self.row or {} if k.endswith("_at") or k.endswith("_source")]:
            self.row[key] = getattr(view.row, key)
        self.load()

    def action_status(self) -> None:
        from mlops_oncall.ui.modals import ChoiceModal

        if self.row is None:
            return
        current = self.row.get("postmortem_status") or "draft"
        options = [(st, f"{st}{'  (now)' if st == current else ''}") for st in POSTMORTEM_STATUSES]

        def picked(status: str | None) -> None:
            if not status or status == current:
                return

            def saved() -> None:
                if self.row is not None:
                    self.row["postmortem_status"] = status
                self.notify(f"Postmortem of {self.incident_id} is {status}")
                self._show_status()

            oncall(self).run_core(
                f"mark the postmortem {status}",
                oncall(self).session.incidents.set_field,
                self.incident_id,
                "postmortem_status",
                status,
                after=saved,
            )

        self.app.push_screen(
            ChoiceModal(
                f"Postmortem of {self.incident_id}",
                options,
                note="final: reviewed and ready to share; draft: still being written.",
                start=current,
            ),
            picked,
        )

    def _show_status(self) -> None:
        status = (self.row or {}).get("postmortem_status") or "draft"
        self.query_one("#postmortem-preview-pane").border_title = f"Preview · {status}"

    def action_candidates(self) -> None:
        from mlops_oncall.ui.screens.risks import CandidateRisksModal

        self.app.push_screen(CandidateRisksModal(self.incident_id))

    def action_back(self) -> None:
        from mlops_oncall.ui.modals import ConfirmModal

        lines = self.unsaved_lines()
        if not lines:
            self.app.pop_screen()
            return

        def answer(leave: bool | None) -> None:
            if leave:
                self.queue_draft()
                self.app.pop_screen()

        self.app.push_screen(
            ConfirmModal("Leave the postmortem with text not recorded?", lines, "Leave"), answer
        )
