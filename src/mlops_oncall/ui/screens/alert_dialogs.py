"""The alerts inbox's silence dialog: how long and why, sent to Alertmanager's API v2 through
``Alerts.silence`` off the UI loop; a refusal (a bad duration, no comment, Alertmanager's
error) is one line under its field and the dialog stays open with what was typed."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from mlops_oncall.ui.modals import Dialog, error_line

DEFAULT_DURATION = "2h"


class SilenceModal(Dialog):
    """Silence a group's alerts in Alertmanager; dismisses with the silence (id, until...)."""

    BINDINGS = [Binding("ctrl+s", "submit", "Silence", id="silence.submit")]

    def __init__(self, group: Any, alerts: Any):
        super().__init__()
        self.group = group
        self.alerts = alerts  # the session's Alerts service

    def compose(self) -> ComposeResult:
        target = self.alerts.config.alertmanager
        with Vertical(classes="dialog", id="silence-dialog"):
            yield Label(f"Silence {self.group.id} in Alertmanager", classes="dialog-title")
            where = (
                f"POST {target.url}/api/v2/silences, matching the labels its alerts share"
                if target is not None
                else "No Alertmanager configured: set alerts.alertmanager.url in oncall.yaml"
            )
            yield Static(Text(where, style="dim" if target is not None else "bold red"))
            yield Label("For (e.g. 30m, 2h, 1d)", classes="field-label")
            yield Input(value=DEFAULT_DURATION, id="silence-duration")
            yield error_line("silence-duration")
            yield Label("Comment (required: why, and who to ask)", classes="field-label")
            yield Input(
                placeholder="e.g. known: rollback in progress, ask alice", id="silence-comment"
            )
            yield error_line("silence-comment")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Silence (ctrl+s)", variant="warning", id="submit")

    def on_mount(self) -> None:
        self.query_one("#silence-comment", Input).focus()

    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        self.action_submit()

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        from mlops_oncall.formats.durations import parse_duration

        raw = self.query_one("#silence-duration", Input).value.strip()
        try:
            length = parse_duration(raw)
        except ValueError as exc:
            self.show_error("silence-duration", str(exc))
            return
        comment = self.query_one("#silence-comment", Input).value.strip()
        if not comment:
            self.show_error("silence-comment", "A silence needs a comment: why, and who to ask.")
            return
        # Alertmanager's answer (or its absence) is shown under the comment, in one line
        self.submit_with("silence-comment", self.alerts.silence, self.group.id, length, comment)
