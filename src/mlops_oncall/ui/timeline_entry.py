"""One timeline entry in full: the line the timeline cuts short, with its data pretty-printed.

Stored text is data: it is redacted again with the workspace's redactor (secrets added to the
workspace since it was written are masked too) and control characters are shown, never sent.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.modals import Dialog
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.lean_footer import LeanFooter


def entry_text(event, redactor, zone) -> Text:
    """The whole event as plain, safe text: time, actor, kind, text, data, hash."""
    from mlops_oncall.reports.text import terminal_text

    def safe(s: str) -> str:
        return terminal_text(redactor.text(s) if redactor is not None else s)

    data = redactor.value(event.data) if redactor is not None else event.data
    out = Text()
    out.append(f"#{event.seq}  {fmt.stamp(event.ts, zone)}", style="bold")
    out.append(f"  {safe(event.actor)}  ")
    out.append(event.kind, style="bold cyan")
    out.append("\n\n")
    out.append(safe(event.text))
    if data:
        out.append("\n\n")
        out.append(
            safe(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str))
        )
    out.append(f"\n\nhash {event.hash}", style="dim")
    return out


class TimelineEntryModal(Dialog):
    DEFAULT_CSS = """
    TimelineEntryModal #entry-scroll { height: auto; max-height: 30; background: $panel; }
    TimelineEntryModal.-short #entry-scroll { max-height: 14; }
    """

    def __init__(self, incident_id: str, seq: int):
        super().__init__()
        self.incident_id = incident_id
        self.seq = seq
        self.shown = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="entry-dialog"):
            yield Label(f"{self.incident_id}: timeline entry {self.seq}", classes="dialog-title")
            with VerticalScroll(id="entry-scroll"):
                yield Static(Text("Loading…", style="dim"), id="entry-body")
            yield Static(Text("↑/↓ scroll · esc closes", style="dim"))
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#entry-scroll").focus()
        self.load()

    @work(thread=True, exclusive=True, group="timeline-entry")
    def load(self) -> None:
        s = oncall(self).session
        # the timeline shows the newest events, so this reads a few hundred at most
        found = [
            e
            for e in s.incidents.events(self.incident_id, after_seq=self.seq - 1)
            if e.seq == self.seq
        ]
        text = (
            entry_text(found[0], s.redactor, s.workspace.zone())
            if found
            else Text(f"no event {self.seq} in {self.incident_id}", style="red")
        )
        self.app.call_from_thread(self._show, text)

    def _show(self, text: Text) -> None:
        self.query_one("#entry-body", Static).update(text)
        self.shown = True
