"""Small modal dialogs. Each returns a value through dismiss() and holds no domain logic."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from rich.text import Text
from textual import _widget_navigation as _nav
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from mlops_oncall.runbooks.commandtext import line_count, refusal, visible_parts
from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.lean_footer import LeanFooter

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
CHANGES_SHOWN = 3  # the declare dialog's newest deploys; the rest is "+N more"
CHANGES_DEBOUNCE = 0.4  # seconds after the last keystroke in the service field
ROLES = ("commander", "operations", "communications", "scribe")


class Dialog(ModalScreen):
    """A dialog. A value it refuses is said beside its field, in a line under it, and the
    dialog stays open with everything typed (it used to close and lose it all)."""

    DEFAULT_CSS = """
    Dialog .field-error { color: $text-error; height: auto; display: none; }
    Dialog .field-error.-shown { display: block; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    def show_error(self, field: str, message: str) -> None:
        """Say why `field` is refused under it, and put the cursor there to fix it."""
        error = self.query_one(f"#{field}-error", Static)
        error.update(Text(message))
        error.add_class("-shown")
        widget = self.query(f"#{field}")
        if widget:
            widget.first().focus()

    def errors(self) -> dict[str, str]:
        """The refusals on screen now, by field (for tests and the footer)."""
        return {
            str(e.id).removesuffix("-error"): str(e.render())
            for e in self.query(".field-error.-shown")
        }

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        # typing in a refused field clears its refusal: the next submit judges it again
        if event.input.id:
            for error in self.query(f"#{event.input.id}-error"):
                error.remove_class("-shown")

    def submit_with(self, field: str, fn, *args, **kwargs) -> None:
        """Run a core call off the UI loop; close with its result, or keep the dialog open with
        the core's refusal under ``field`` (a milestone after the next one, say)."""
        self._submit_call(field, fn, args, kwargs)

    @work(thread=True, exclusive=True, group="dialog-submit")
    def _submit_call(self, field: str, fn, args, kwargs) -> None:
        from mlops_oncall.incidents.service import IncidentError
        from mlops_oncall.ui.messages import DataChanged

        try:
            result = fn(*args, **kwargs)
        except IncidentError as exc:
            self.app.call_from_thread(self.show_error, field, str(exc))
            return
        except Exception as exc:  # a locked database: said the same way, nothing typed is lost
            self.app.call_from_thread(self.show_error, field, f"{type(exc).__name__}: {exc}")
            return
        self.app.post_message(DataChanged())
        self.app.call_from_thread(self.dismiss, result if result is not None else True)


def error_line(field: str) -> Static:
    """The line under a field where its refusal is shown (hidden while there is none)."""
    return Static("", id=f"{field}-error", classes="field-error")


class ConfirmModal(Dialog):
    """Ask before doing something: a title, the lines that say why, `y` to go ahead and esc to
    keep things as they are. Dismisses with True or False, never None."""

    DEFAULT_CSS = "#confirm-lines { height: auto; max-height: 14; }"
    BINDINGS = [Binding("y", "confirm", "Yes", id="confirm.yes")]

    def __init__(self, title: str, lines: Sequence[str] = (), yes_label: str = "Yes"):
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.yes_label = yes_label
        # the footer names what `y` does here ("Mitigate anyway"), not a bare "Yes"
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [
                dataclasses.replace(b, description=yes_label) if b.id == "confirm.yes" else b
                for b in bindings
            ]

    def compose(self) -> ComposeResult:
        from mlops_oncall.reports.text import terminal_text

        with Vertical(classes="dialog", id="confirm-modal"):
            yield Label(Text(terminal_text(self.title_text)), classes="dialog-title")
            if self.lines:
                with VerticalScroll(id="confirm-lines"):
                    # plain text: the lines may quote stored text, never read as markup
                    yield Static(Text("\n".join(terminal_text(line) for line in self.lines)))
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button(f"{self.yes_label} (y)", variant="warning", id="yes")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()  # a stray Enter keeps things as they are

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        self.dismiss(True)


class DeclareModal(Dialog):
    """Declare an incident, prefilled from a failing check, an alert group (a declaration
    with ``group`` instead of ``check_id``: alerts/service.py), or blank.

    It reads one thing itself, off the UI loop: what changed, the deploys of the service in
    the field (re-read as it is edited), in the window the runbooks' what-changed step uses."""

    BINDINGS = [Binding("ctrl+s", "submit", "Declare", id="declare.submit")]

    def __init__(
        self,
        declaration: Any = None,
        *,
        drill: bool = False,
        zone=None,
        budget: list[str] | None = None,
    ):
        super().__init__()
        self.decl = declaration
        self.drill = drill
        self.zone = zone
        self.budget = budget or []  # the error budget the check's SLOs burned so far
        self._changes_timer: Any = None
        self._changes_for: str | None = None  # the service the list on screen is of

    def compose(self) -> ComposeResult:
        d = self.decl
        with VerticalScroll(classes="dialog", id="declare-dialog"):
            head = "Declare a drill incident" if self.drill else "Declare an incident"
            if d is not None:
                head += f" from {getattr(d, 'check_id', None) or d.group}"
            yield Label(head, classes="dialog-title")
            yield Label("Title", classes="field-label")
            yield Input(
                value=d.title if d else "",
                placeholder="What is wrong, in a line",
                id="declare-title",
            )
            yield error_line("declare-title")
            with Horizontal(classes="form-row"):
                with Vertical(classes="form-cell-narrow"):
                    yield Label("Severity", classes="field-label")
                    yield Select(
                        [(s, s) for s in SEVERITIES],
                        value=d.severity if d else "SEV3",
                        allow_blank=False,
                        id="declare-severity",
                    )
                with Vertical(classes="form-cell"):
                    yield Label("Service", classes="field-label")
                    yield Input(
                        value=(d.service or "") if d else "",
                        placeholder="service",
                        id="declare-service",
                    )
            yield Label("What changed", classes="field-label")
            yield Static(Text("…", style="dim"), id="declare-changes")
            if d is not None:
                detected = (
                    fmt.stamp(d.detected_at, self.zone) if d.detected_at else "at declaration"
                )
                first = "first failing poll" if getattr(d, "check_id", None) else "first alert"
                yield Static(Text(f"Detected: {detected} ({first})", style="dim"))
                if self.budget:
                    yield Static(Text("\n".join(self.budget), style="bold"), id="declare-budget")
                yield Label("Runbook to attach", classes="field-label")
                options = [Option(Text("No runbook for now", style="dim"), id="")]
                for s in d.runbooks[:6]:
                    label = Text()
                    label.append(f"{s.runbook_id}", style="bold")
                    label.append(f"  {s.severity}  {s.title}\n")
                    label.append("   " + "; ".join(s.reasons), style="dim")
                    options.append(Option(label, id=s.runbook_id))
                ol = OptionList(*options, id="declare-runbooks")
                yield ol
                if d.past:
                    yield Label("Past incidents of this service or runbook", classes="field-label")
                    past = Text()
                    for p in d.past:
                        past.append(f"{p['id']}  {p['severity']}  {p['status']:<12} {p['title']}\n")
                    yield Static(past)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Declare (ctrl+s)", variant="error", id="submit")

    def on_mount(self) -> None:
        ol = self.query("#declare-runbooks")
        if ol and self.decl is not None and self.decl.runbooks:
            ol.first(OptionList).highlighted = 1
        self.query_one("#declare-title", Input).focus()
        self._read_changes(self.query_one("#declare-service", Input).value.strip())

    @on(Input.Changed, "#declare-service")
    def _service_edited(self, event: Input.Changed) -> None:
        service = event.value.strip()
        if self._changes_timer is not None:
            self._changes_timer.stop()
        if service != self._changes_for:
            self._changes_timer = self.set_timer(
                CHANGES_DEBOUNCE, lambda: self._changes_due(service)
            )

    def _changes_due(self, service: str) -> None:
        if service != self._changes_for:  # typed back to what is shown: nothing to read
            self._read_changes(service)

    @work(thread=True, exclusive=True, group="declare-changes")
    def _read_changes(self, service: str) -> None:
        from mlops_oncall.runbooks.placeholders import LOOKBACK

        s = oncall(self).session
        now = s.clock.now()
        detected = (self.decl.detected_at if self.decl is not None else None) or now
        try:
            found = s.deploys.list(service=service, since=detected - LOOKBACK) if service else []
        except Exception:  # the team database unreachable, say: the dialog stays usable
            self.app.call_from_thread(self._show_changes, service, None, now)
            return
        self.app.call_from_thread(self._show_changes, service, found, now)

    def _show_changes(self, service: str, found: list | None, now: datetime) -> None:
        self._changes_for = service
        if found is None:
            text = Text("could not read the deploys", style="dim")
        elif not service:
            text = Text("no service: type one to see its deploys", style="dim")
        elif not found:
            from mlops_oncall.formats.durations import format_duration
            from mlops_oncall.runbooks.placeholders import LOOKBACK

            text = Text(
                f"no deploys of {service} in the last {format_duration(LOOKBACK)}", style="dim"
            )
        else:  # newest first, as deploys.list gives them
            text = Text()
            for d in found[:CHANGES_SHOWN]:
                if text:
                    text.append("\n")
                text.append(f"{fmt.since(d.at, now)} ago  ")
                text.append_text(
                    fmt.change_text(fmt.deploy_version(d.version, d.notes), d.kind, d.outcome)
                )
            if len(found) > CHANGES_SHOWN:
                text.append(f"\n+{len(found) - CHANGES_SHOWN} more", style="dim")
        self.query_one("#declare-changes", Static).update(text)

    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        self.action_submit()

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        title = self.query_one("#declare-title", Input).value.strip()
        if not title:
            self.show_error("declare-title", "An incident needs a title: what is wrong, in a line.")
            return
        runbook = None
        ol = self.query("#declare-runbooks")
        if ol:
            opt = ol.first(OptionList)
            if opt.highlighted is not None:
                runbook = opt.get_option_at_index(opt.highlighted).id or None
        self.dismiss(
            {
                "title": title,
                "severity": self.query_one("#declare-severity", Select).value,
                "service": self.query_one("#declare-service", Input).value.strip() or None,
                "runbook": runbook,
                "check_id": getattr(self.decl, "check_id", None),
                "detected_at": self.decl.detected_at if self.decl else None,
            }
        )


class NoteModal(Dialog):
    """One line of text (a note to go with a step's outcome)."""

    def __init__(
        self, title: str, placeholder: str = "What you saw or did", *, required: bool = False
    ):
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="note-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(placeholder=self.placeholder, id="note-text")
            yield error_line("note-text")
            yield Static(Text("Enter records it; escape cancels.", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#note-text").focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.show_error("note-text", "Type the note first (esc cancels).")
            return
        self.dismiss(text)


class ChoiceModal(Dialog):
    """Pick one of a few values (a status, a severity)."""

    def __init__(
        self, title: str, options: list[tuple[str, str]], *, note: str = "", start: str = ""
    ):
        super().__init__()
        self.title_text = title
        self.options = options
        self.note = note
        self.start = start  # the value the cursor starts on (the current one)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            if self.note:
                yield Static(Text(self.note, style="dim"))
            yield StillOptionList(
                *[Option(label, id=value) for value, label in self.options], id="choices"
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        values = [value for value, _ in self.options]
        if self.start in values:
            choices.highlighted = values.index(self.start)
        choices.focus()

    @on(OptionList.OptionSelected, "#choices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class StillOptionList(OptionList):
    """An OptionList whose cursor stops at the ends: `Up` on the first option stays there
    (wrapping once turned a SEV2 into a SEV4 with `v`, `Up`, `Enter`)."""

    def _step(self, direction: int) -> None:
        nxt = _nav.find_next_enabled_no_wrap(
            self.options, anchor=self.highlighted, direction=direction
        )
        if nxt is not None:
            self.highlighted = nxt

    def action_cursor_up(self) -> None:
        self._step(-1)

    def action_cursor_down(self) -> None:
        self._step(1)


class SeverityModal(Dialog):
    """Pick a severity: the cursor starts on the current one, does not wrap, and each
    severity says what it means (oncall.yaml `severities:`, else the defaults)."""

    def __init__(self, current: str, definitions: dict[str, str], *, title: str = "Severity"):
        super().__init__()
        self.current = current
        self.definitions = definitions
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="severity-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            options = []
            for sev, meaning in self.definitions.items():
                label = Text()
                label.append_text(fmt.sev_text(sev))
                if sev == self.current:
                    label.append("  (now)", style="bold")
                label.append(f"\n  {meaning}", style="dim")
                options.append(Option(label, id=sev))
            yield StillOptionList(*options, id="choices")
            yield Static(
                Text("When unsure, pick the higher. Enter picks; esc keeps it.", style="dim")
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        ids = list(self.definitions)
        choices.highlighted = ids.index(self.current) if self.current in ids else 0
        choices.focus()

    @on(OptionList.OptionSelected, "#choices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


MILESTONE_HINTS = {
    "impact_started": "when users were first hurt (TTD counts from it)",
    "detected": "the first failing poll or alert",
    "acknowledged": "when a responder took it",
    "declared": "when it became an incident",
    "mitigated": "when users stopped being hurt",
    "resolved": "when the cause was fixed",
}


class MilestoneModal(Dialog):
    """Correct a milestone: impact_started above all, which only a person can know (without it
    TTD is unknown). A correction wins over the first setting and is itself an event."""

    def __init__(
        self,
        incident_id: str,
        milestones: dict[str, Any],
        submit: Callable[[str, str], Any],
        *,
        zone=None,
        start: str = "impact_started",
    ):
        super().__init__()
        self.incident_id = incident_id
        self.milestones = milestones
        self.submit = submit  # (name, text) -> the core call, run off the UI loop
        self.zone = zone
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="milestone-dialog"):
            yield Label(f"Milestones of {self.incident_id}", classes="dialog-title")
            now = Text()
            for name, at in self.milestones.items():
                now.append(f"{name:<15}", style="bold" if name == self.start else "")
                now.append(fmt.stamp(at, self.zone) if at else "–", style="" if at else "dim")
                now.append(f"  {MILESTONE_HINTS.get(name, '')}\n", style="dim")
            yield Static(now, id="milestone-now")
            with Horizontal(classes="form-row"):
                with Vertical(classes="form-cell-narrow"):
                    yield Label("Milestone", classes="field-label")
                    yield Select(
                        [(m, m) for m in self.milestones],
                        value=self.start,
                        allow_blank=False,
                        id="milestone-name",
                    )
                with Vertical(classes="form-cell"):
                    yield Label("When", classes="field-label")
                    yield Input(placeholder="02:41, -25m or 2026-11-28T02:41", id="milestone-at")
                    yield error_line("milestone-at")
            yield Static(
                Text(
                    "A clock time is the latest one not after now, in the workspace's zone. "
                    "The correction is recorded in the timeline.",
                    style="dim",
                )
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Set", variant="primary", id="submit")

    def on_mount(self) -> None:
        self.query_one("#milestone-at", Input).focus()

    @on(Input.Submitted, "#milestone-at")
    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        text = self.query_one("#milestone-at", Input).value.strip()
        if not text:
            self.show_error("milestone-at", "When? A clock time (02:41), -25m or a date and time.")
            return
        name = str(self.query_one("#milestone-name", Select).value)
        self.submit_with("milestone-at", self.submit, name, text)


LEVELS = [(f"{n}", n) for n in range(1, 6)]


class RiskReviewModal(Dialog):
    """Review a risk: likelihood and impact again (1-5), a note, and when to look next. The
    core keeps the history and the score change; a refusal stays beside its field."""

    def __init__(self, risk: dict, submit: Callable[..., Any], *, today: date | None = None):
        super().__init__()
        self.risk = risk
        self.submit = submit  # (likelihood, impact, note, next_review) -> the core call
        self.today = today

    def compose(self) -> ComposeResult:
        r = self.risk
        now = r.get("current") or r  # the score as last reviewed, where the register has one
        with Vertical(classes="dialog", id="risk-review-dialog"):
            yield Label(Text(f"Review {r['id']}: {r['title']}"), classes="dialog-title")
            yield Static(
                Text(
                    f"Now {now['likelihood']}×{now['impact']} = {now['score']} ({now['band']}); "
                    f"last reviewed {r.get('last_reviewed') or '–'}",
                    style="dim",
                )
            )
            with Horizontal(classes="form-row"):
                with Vertical(classes="form-cell-narrow"):
                    yield Label("Likelihood (1-5)", classes="field-label")
                    yield Select(
                        LEVELS, value=now["likelihood"], allow_blank=False, id="review-likelihood"
                    )
                with Vertical(classes="form-cell-narrow"):
                    yield Label("Impact (1-5)", classes="field-label")
                    yield Select(LEVELS, value=now["impact"], allow_blank=False, id="review-impact")
                with Vertical(classes="form-cell"):
                    yield Label("Next review", classes="field-label")
                    yield Input(placeholder="by score; or +30d, YYYY-MM-DD", id="review-next")
                    yield error_line("review-next")
            yield Label("What changed", classes="field-label")
            yield Input(placeholder="a note for the history (optional)", id="review-note")
            yield error_line("review-note")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Record the review", variant="primary", id="submit")

    def on_mount(self) -> None:
        self.query_one("#review-likelihood", Select).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        from mlops_oncall.incidents.dates import DateError, parse_day

        next_text = self.query_one("#review-next", Input).value.strip()
        next_review = None
        if next_text:
            try:
                today = self.today or datetime.now().astimezone().date()
                next_review = parse_day(next_text, today)
            except DateError as exc:
                self.show_error("review-next", str(exc))
                return
            if next_review < today:
                self.show_error(
                    "review-next", f"{next_review} has passed; the next review is ahead"
                )
                return
        self.submit_with(
            "review-note",
            self.submit,
            int(self.query_one("#review-likelihood", Select).value),
            int(self.query_one("#review-impact", Select).value),
            self.query_one("#review-note", Input).value.strip() or None,
            next_review,
        )


class RoleModal(Dialog):
    def __init__(self, roles: dict[str, str]):
        super().__init__()
        self.roles = roles

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Assign a role", classes="dialog-title")
            yield Select([(r, r) for r in ROLES], value="commander", allow_blank=False, id="role")
            yield Label("Who", classes="field-label")
            yield Input(placeholder="name or handle", id="who")
            yield error_line("who")
            now = ", ".join(f"{k}: {v}" for k, v in sorted(self.roles.items())) or "nobody yet"
            yield Static(Text(f"Now: {now}", style="dim"))
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Assign", variant="primary", id="submit")

    def on_mount(self) -> None:
        self.query_one("#who").focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        who = self.query_one("#who", Input).value.strip()
        if not who:
            self.show_error("who", "Who takes the role? A name or handle.")
            return
        self.dismiss((self.query_one("#role", Select).value, who))


class ActionItemModal(Dialog):
    """An action item. The due date is read as the workspace's day: `YYYY-MM-DD`, `today`,
    `tomorrow` or `+3d`; one before the incident is refused beside the field."""

    def __init__(self, *, today: date | None = None, incident_day: date | None = None):
        super().__init__()
        self.today = today
        self.incident_day = incident_day

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="action-dialog"):
            yield Label("Add an action item", classes="dialog-title")
            yield Input(placeholder="What should be done", id="text")
            yield error_line("text")
            with Horizontal(classes="form-row"):
                with Vertical(classes="form-cell-narrow"):
                    yield Label("Type", classes="field-label")
                    yield Select(
                        [("mitigate", "mitigate"), ("prevent", "prevent"), ("process", "process")],
                        value="prevent",
                        allow_blank=False,
                        id="type",
                    )
                with Vertical(classes="form-cell"):
                    yield Label("Owner", classes="field-label")
                    yield Input(placeholder="owner", id="owner")
                    yield error_line("owner")
                with Vertical(classes="form-cell"):
                    yield Label("Due", classes="field-label")
                    yield Input(placeholder="YYYY-MM-DD, today, +3d", id="due")
                    yield error_line("due")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Add", variant="primary", id="submit")

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        from mlops_oncall.incidents.dates import DateError, parse_due

        text = self.query_one("#text", Input).value.strip()
        owner = self.query_one("#owner", Input).value.strip()
        due_text = self.query_one("#due", Input).value.strip()
        due = None
        refused: dict[str, str] = {}
        if not text:
            refused["text"] = "What should be done? One line."
        if not owner:
            refused["owner"] = "Who owns it? A name or a team."
        if due_text:
            try:
                today = self.today or datetime.now().astimezone().date()
                due = parse_due(due_text, today=today, incident_day=self.incident_day)
            except DateError as exc:
                refused["due"] = str(exc)
        if refused:
            for field in reversed(list(refused)):  # the cursor lands on the first one
                self.show_error(field, refused[field])
            return
        self.dismiss(
            {
                "text": text,
                "type": self.query_one("#type", Select).value,
                "owner": owner,
                "due": due,
            }
        )


class ConfirmCommandModal(Dialog):
    """Shows a command exactly as it will run, every line of it, and asks before running it.

    Newlines and tabs are marked (⏎ ␉) and the box scrolls, so nothing after the first line
    can hide below it. A command with an escape sequence or another control character could
    redraw what is on screen, so it is refused here: shown with its codes, never offered.

    The step's risk sets the question: ``read`` and ``change`` show the target and ask for
    `y`; ``destructive`` runs only once the target's name is typed. A command that needs a
    terminal (``interactive`` says why) is offered for copying only. Dismisses with True (run),
    "copy", or None."""

    # Its own rules rather than .dialog's: at 80x24 every row counts (see _fit).
    DEFAULT_CSS = """
    #confirm-dialog {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    #confirm-dialog.-destructive { border: thick $error; }
    #confirm-title { text-style: bold; color: $text-accent; }
    #confirm-target { color: $text-warning; }
    #confirm-scroll { height: auto; background: $panel; padding: 0 1; margin: 1 0; }
    #confirm-refused { color: $text-error; text-style: bold; }
    #confirm-typed { margin: 0 0 1 0; }
    #confirm-dialog .buttons { height: auto; align-horizontal: right; }
    #confirm-dialog .buttons Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("y", "confirm", "Run it", id="confirm.yes"),
        Binding("c", "copy", "Copy it", id="confirm.copy"),
    ]

    def __init__(
        self,
        command: str,
        timeout: float,
        *,
        risk: str = "read",
        target: str | None = None,
        interactive: str | None = None,
    ):
        super().__init__()
        self.command = command
        self.timeout = timeout
        self.risk = risk
        self.target = target or ""
        self.refused = refusal(command)
        self.interactive = None if self.refused else interactive
        self.lines = line_count(command)

    @property
    def destructive(self) -> bool:
        return self.risk == "destructive" and not (self.refused or self.interactive)

    def compose(self) -> ComposeResult:
        lines = f"{self.lines} line" + ("s" if self.lines != 1 else "")
        with Vertical(id="confirm-dialog", classes="-destructive" if self.destructive else ""):
            if self.refused:
                title = "This command cannot be run"
            elif self.interactive:
                title = "This command can only be copied"
            elif self.destructive:
                title = "DESTRUCTIVE: deletes or overwrites data. Run it?"
            elif self.risk == "change":
                title = "This changes a running system. Run it?"
            else:
                title = "Run this command?"
            yield Label(f"{title}  ({lines})", id="confirm-title")
            if self.target:
                yield Label(f"Target: {self.target}   Risk: {self.risk}", id="confirm-target")
            with VerticalScroll(id="confirm-scroll"):
                yield Static(self._shown(), id="confirm-command")
            if self.refused:
                yield Static(
                    Text(f"Refused: {self.refused}.\nFix the runbook; esc closes."),
                    id="confirm-refused",
                )
            elif self.interactive:
                yield Static(
                    Text(f"Not run here: {self.interactive}.\nc copies it; esc closes."),
                    id="confirm-refused",
                )
            else:
                what = f"all {lines}" if self.lines > 1 else "it"
                ask = (
                    f"Type {self.target} and press Enter to run {what}"
                    if self.destructive
                    else f"A shell runs {what}"
                )
                yield Static(
                    Text(
                        f"{ask}, with a {self.timeout:g} s limit. Output is recorded.\n"
                        "⏎ marks a line break and ␉ a tab; ↑↓ PgUp PgDn scroll.",
                        style="dim",
                    ),
                    id="confirm-note",
                )
                if self.destructive:
                    yield Input(placeholder=f"type {self.target} to confirm", id="confirm-typed")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel")
                if self.interactive:
                    yield Button("Copy (c)", variant="primary", id="copy")
                elif not self.refused:
                    label = "Run (Enter)" if self.destructive else "Run (y)"
                    yield Button(
                        label, variant="error" if self.destructive else "warning", id="run"
                    )
        yield LeanFooter()

    def _shown(self) -> Text:
        text = Text()
        for piece, mark in visible_parts(self.command):
            style = ("bold reverse red" if len(piece) > 1 else "bold yellow") if mark else ""
            text.append(piece, style=style)
        return text

    def on_mount(self) -> None:
        self._fit()
        if self.destructive:
            self.query_one("#confirm-typed", Input).focus()
        else:
            self.query_one("#confirm-scroll").focus()  # arrows scroll it; Enter runs nothing

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Give the command box the rows the rest of the dialog leaves, so the buttons and the
        footer's keys stay on screen however long the command is (80x24 included)."""
        width, height = self.app.size
        inner = max(10, min(90, int(width * 0.95)) - 4)
        note = self.query_one("#confirm-refused, #confirm-note", Static)
        note_rows = sum(-(-max(1, len(line)) // inner) for line in str(note.render()).split("\n"))
        extra = (1 if self.target else 0) + (4 if self.destructive else 0)
        chrome = (
            1 + 2 + 1 + 2 + note_rows + 3 + extra
        )  # footer, border, title, margins, note, buttons
        self.query_one("#confirm-scroll").styles.max_height = max(3, height - chrome)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # `y` runs only a plain confirmation: never a refused or copy-only command, and never a
        # destructive one (the typed name is the confirmation, and `y` may be part of it).
        if action == "confirm":
            return not (self.refused or self.interactive or self.destructive)
        if action == "copy":
            return bool(self.interactive)
        return True

    def _typed_ok(self) -> bool:
        typed = self.query_one("#confirm-typed", Input).value.strip()
        return bool(self.target) and typed == self.target

    @on(Input.Submitted, "#confirm-typed")
    def _typed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#run")
    def action_confirm(self) -> None:
        if self.refused or self.interactive:
            return
        if self.destructive and not self._typed_ok():
            self.notify(f"Type {self.target} exactly to run it", severity="warning")
            return
        self.dismiss(True)

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        if self.interactive:
            self.dismiss("copy")


class CommandValuesModal(Dialog):
    """Asks for the values a command's placeholders still need, prefilled where a source
    suggests one, and shows the command they go into. Dismisses with {name: value} or None."""

    DEFAULT_CSS = """
    #values-dialog { width: 90; max-width: 95%; height: auto; max-height: 100%; }
    #values-command { background: $panel; padding: 0 1; margin: 0 0 1 0; max-height: 6; }
    """
    BINDINGS = [Binding("ctrl+s", "submit", "Use values", id="values.submit")]

    def __init__(self, command: str, missing: list[str], hints: dict[str, str], about: dict):
        super().__init__()
        self.command = command
        self.missing = missing
        self.hints = hints
        self.about = about

    def compose(self) -> ComposeResult:
        n = len(self.missing)
        with VerticalScroll(classes="dialog", id="values-dialog"):
            yield Label(
                f"This command needs {n} value{'s' * (n != 1)} before it can run or be copied",
                classes="dialog-title",
            )
            yield Static(Text(self.command), id="values-command")
            for name in self.missing:
                about = self.about.get(name)
                yield Label(f"{name}" + (f": {about}" if about else ""), classes="field-label")
                yield Input(value=self.hints.get(name, ""), placeholder=name, id=f"value-{name}")
            yield Label("", id="values-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Use (ctrl+s)", variant="primary", id="use")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        i = inputs.index(event.input)
        if i + 1 < len(inputs):
            inputs[i + 1].focus()
        else:
            self.action_submit()

    @on(Button.Pressed, "#use")
    def action_submit(self) -> None:
        values = {n: self.query_one(f"#value-{n}", Input).value.strip() for n in self.missing}
        empty = [n for n, v in values.items() if not v]
        if empty:
            self.query_one("#values-error", Label).update(f"{empty[0]} needs a value")
            self.query_one(f"#value-{empty[0]}", Input).focus()
            return
        self.dismiss(values)


class RefusedRunbooksModal(Dialog):
    """Each runbook the library refused, with its file, line, column and first error."""

    DEFAULT_CSS = "#refused-list { height: auto; max-height: 16; }"

    def __init__(self, refused: list):
        super().__init__()
        self.refused = refused

    def compose(self) -> ComposeResult:
        n = len(self.refused)
        with Vertical(classes="dialog", id="refused-dialog"):
            yield Label(f"{n} runbook{'s' * (n != 1)} refused", classes="dialog-title")
            with VerticalScroll(id="refused-list"):
                # plain text: messages quote YAML, which Rich markup would eat
                yield Static(Text("\n".join(str(r) for r in self.refused)), id="refused-lines")
            yield Static(
                Text(
                    "Fix the files: the runbooks are read again when they change, and the "
                    "banner goes when none is refused. esc closes.",
                    style="dim",
                )
            )
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#refused-list").focus()


class InjectFaultModal(Dialog):
    """Break a service of the fake ML system (demo and drills)."""

    # A bad parameter keeps the dialog open with the reason under the field.
    DEFAULT_CSS = """
    InjectFaultModal #params-error { color: $error; height: auto; display: none; }
    InjectFaultModal #params-error.-shown { display: block; }
    """

    def __init__(self, services: list[str], faults: dict[str, list[str]], defaults: dict[str, str]):
        super().__init__()
        self.services = services
        self.faults = faults
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="inject-dialog"):
            yield Label("Inject a fault into the fake ML system", classes="dialog-title")
            yield Label("Service", classes="field-label")
            yield Select(
                [(s, s) for s in self.services],
                value=self.services[0],
                allow_blank=False,
                id="service",
            )
            yield Label("Fault", classes="field-label")
            first = self.faults[self.services[0]]
            yield Select([(f, f) for f in first], value=first[0], allow_blank=False, id="fault")
            yield Label("Parameters (key=value, space-separated)", classes="field-label")
            yield Input(value=self.defaults.get(first[0], ""), id="params")
            yield Static("", id="params-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Clear all faults", id="clear")
                yield Button("Inject", variant="error", id="submit")

    @on(Select.Changed, "#service")
    def _service(self, event: Select.Changed) -> None:
        faults = self.faults.get(str(event.value), [])
        sel = self.query_one("#fault", Select)
        sel.set_options([(f, f) for f in faults])
        if faults:
            sel.value = faults[0]

    @on(Select.Changed, "#fault")
    def _fault(self, event: Select.Changed) -> None:
        self.query_one("#params", Input).value = self.defaults.get(str(event.value), "")
        self.query_one("#params-error", Static).remove_class("-shown")

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss({"clear": True})

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        from mlops_oncall.drills.fake.faults import FaultError, normalise, parse_text

        service = str(self.query_one("#service", Select).value)
        fault = str(self.query_one("#fault", Select).value)
        try:
            params = parse_text(fault, self.query_one("#params", Input).value)
            normalise(service, fault, params)  # the fake checks again; this keeps the text
        except FaultError as exc:
            error = self.query_one("#params-error", Static)
            error.update(exc.message)
            error.add_class("-shown")
            self.query_one("#params", Input).focus()
            return
        self.dismiss({"service": service, "fault": fault, "params": params})
