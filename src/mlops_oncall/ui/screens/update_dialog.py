"""The incident screen's status update dialog (key u): the draft from the timeline in an
editable text area, a destination of `notify:` (or none: recorded as sent another way), sent
through ``Notifier.post`` off the UI loop. A refusal (the destination's error, an unset
variable) is one line under the text and the dialog stays open with the text as edited;
sending the same text again resends that update with its idempotency key."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Select, Static, TextArea

from mlops_oncall.ui.modals import Dialog, error_line

RECORD_ONLY = "-"  # the Select's value for "no destination"


class UpdateModal(Dialog):
    """Edit and send a status update; dismisses with what ``Notifier.post`` returned."""

    DEFAULT_CSS = """
    #update-dialog { width: 90%; max-width: 110; height: auto; max-height: 90%; }
    #update-text { height: 18; }
    """
    BINDINGS = [Binding("ctrl+s", "submit", "Send", id="update.send")]

    def __init__(self, incident_id: str, notify: Any):
        super().__init__()
        self.incident_id = incident_id
        self.notify_service = notify  # the session's Notifier

    def compose(self) -> ComposeResult:
        dests = self.notify_service.destinations
        options = [(f"{name} ({dests[name].type})", name) for name in self.notify_service.names()]
        options.append(("none: record it as sent another way", RECORD_ONLY))
        with Vertical(classes="dialog", id="update-dialog"):
            yield Label(f"Status update for {self.incident_id}", classes="dialog-title")
            yield Label("Send to", classes="field-label")
            yield Select(options, value=options[0][1], allow_blank=False, id="update-to")
            yield TextArea("Drafting from the timeline…", id="update-text", soft_wrap=True)
            yield error_line("update-text")
            yield Static(Text("Edit the draft; ctrl+s sends it, escape cancels.", style="dim"))
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Send (ctrl+s)", variant="primary", id="submit")

    def on_mount(self) -> None:
        self.query_one("#update-text", TextArea).read_only = True
        self._draft()

    @work(thread=True, exclusive=True, group="update-draft")
    def _draft(self) -> None:
        text = self.notify_service.draft(self.incident_id)
        self.app.call_from_thread(self._drafted, text)

    def _drafted(self, text: str) -> None:
        area = self.query_one("#update-text", TextArea)
        area.read_only = False
        area.load_text(text)
        area.focus()

    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        self.action_submit()

    @on(TextArea.Changed)
    def _edited(self) -> None:
        self.query_one("#update-text-error").remove_class("-shown")

    def action_submit(self) -> None:
        area = self.query_one("#update-text", TextArea)
        if area.read_only:
            return  # still drafting
        to = self.query_one("#update-to", Select).value
        self.submit_with(
            "update-text", self._post, area.text, None if to == RECORD_ONLY else str(to)
        )

    def _post(self, text: str, to: str | None) -> Any:
        from mlops_oncall.formats.errors import IncidentError

        posted = self.notify_service.post(self.incident_id, text, to)
        if not posted.ok:  # recorded; the same text again resends it with its key
            raise IncidentError(f"not delivered: {posted.delivery.error}")
        return posted
