"""The triage stepper: one runbook step at a time, every outcome recorded through the core."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static, TextArea

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.incidents.triage import TriageError
from mlops_oncall.runbooks.render import step_markdown
from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.command_flow import CommandFlow
from mlops_oncall.ui.modals import NoteModal
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.markdown_view import MarkdownView

OUTCOME_OF = {"done": "done", "skip": "skipped", "failed": "failed"}  # action -> outcome


REFUSABLE = (*OUTCOME_OF, "with_note", "choose")


def _parse(action: str) -> tuple[str, tuple]:
    """'choose(2)' -> ('choose', (2,)); "with_note('done')" -> ('with_note', ('done',))."""
    from textual.actions import parse

    _ns, name, params = parse(action)
    return name, params


class TriageScreen(CommandFlow, Screen):
    # the viewed step's command as plain text the mouse or tmux copy mode can select: OSC 52
    # (`c`) has no reply, so whether the terminal took it cannot be known
    DEFAULT_CSS = """
    TriageScreen #step-command {
        height: auto;
        max-height: 8;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    TriageScreen.-short #step-command {
        max-height: 3;
    }
    """
    SHADOWS = ("inject_fault",)  # app actions on keys this screen binds (f)
    BINDINGS = [
        Binding("escape", "back", "Back", id="triage.back"),
        Binding("d", "done", "Done", id="triage.done"),
        Binding("s", "skip", "Skip", id="triage.skip"),
        Binding("f", "failed", "Failed", id="triage.failed"),
        Binding("D", "with_note('done')", "Done+note", id="triage.done_note"),
        Binding("S", "with_note('skipped')", "Skip+note", id="triage.skip_note", show=False),
        Binding("F", "with_note('failed')", "Failed+note", id="triage.failed_note", show=False),
        Binding("n", "note", "Note", id="triage.note"),
        Binding("a", "ack", "Ack", id="triage.ack"),
        Binding("u", "status", "Status", id="triage.status"),  # s is skip here
        Binding("v", "severity", "Severity", id="triage.severity"),
        Binding("c", "copy", "Copy cmd", id="triage.copy"),
        Binding("e", "execute", "Run cmd", id="triage.execute"),
        Binding("k", "run_check", "Run check", id="triage.run_check"),
        Binding("left", "prev", "Prev", id="triage.prev"),
        Binding("right", "next", "Next", id="triage.next"),
        Binding("1", "choose(1)", "Choice 1", id="triage.choice1", show=False),
        Binding("2", "choose(2)", "Choice 2", id="triage.choice2", show=False),
        Binding("3", "choose(3)", "Choice 3", id="triage.choice3", show=False),
        Binding("4", "choose(4)", "Choice 4", id="triage.choice4", show=False),
    ]

    def __init__(self, incident_id: str):
        super().__init__()
        self.incident_id = incident_id
        self.state = None
        self.view = None
        self.viewing: str | None = None  # the step on screen; back/forward move it, not the record
        # the steps `←`/`→` walk: the recorded path, then any previewed beyond the current step
        self.ahead: list[str] = []
        self.pos = 0  # index of the viewed step in path + ahead (a loop may repeat a step)
        self.pending_note = ""
        self.step_head = Text()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        yield Static("Loading…", id="triage-header")
        yield Static("", id="escalation-warning")
        with Horizontal(id="triage-body"):
            with Vertical(id="step-view", classes="panel") as sv:
                sv.border_title = "Step"
                yield MarkdownView("", id="step-markdown")
                yield TextArea(
                    "",
                    id="step-command",
                    read_only=True,
                    soft_wrap=True,
                    tooltip="The step's command: select it with the mouse (c sends it by OSC 52)",
                )
            with Vertical(id="steps-panel", classes="panel") as sp:
                sp.border_title = "Steps"
                yield Static("", id="steps-list")
        with Vertical(id="step-result", classes="panel") as sr:
            sr.border_title = "Last result"
            yield Static(
                Text("Outcomes, check results and command output appear here.", style="dim"),
                id="step-result-body",
            )
        yield Input(
            placeholder="n: a note for the timeline (Enter records it). D/S/F: an outcome with a note.",
            id="step-note",
        )
        yield LeanFooter()

    def on_mount(self) -> None:
        self.load()
        # another terminal's step: the app calls poll() when the store's watcher reports it
        self.set_interval(5.0, self.check_escalation)
        self.set_interval(1.0, self.paint_header)  # the elapsed time

    # -- state -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="triage-load")
    def load(self) -> None:
        s = oncall(self).session
        view = s.incidents.get(self.incident_id)
        self.app.call_from_thread(self._show, view)

    @work(thread=True, exclusive=True, group="triage-poll")
    def poll(self) -> None:
        s = oncall(self).session
        if self.view is None:
            return
        seq, _ = s.incidents.head(self.incident_id)
        if seq != self.view.row.head_seq:
            view = s.incidents.get(self.incident_id)
            self.app.call_from_thread(self._show, view)

    def _show(self, view) -> None:
        moved = self.state is None or (view.triage and self.state.current != view.triage.current)
        self.view = view
        self.state = view.triage
        if self.state is None:
            self.step_head = Text("No runbook attached.")
            self.paint_header()
            return
        if moved or self.viewing is None:
            self.ahead = []
            self.pos = len(self.state.path) - 1
        self.pos = min(self.pos, len(self._trail()) - 1)
        self.viewing = self._trail()[self.pos]
        self.render_step()
        self.refresh_bindings()
        self.check_escalation()

    def render_step(self) -> None:
        st = self.state
        if st is None:
            return
        rb = st.runbook
        step = rb.step(self.viewing)
        idx = rb.index_of(step.id) + 1
        head = Text()
        head.append(f"{rb.title}", style="bold cyan")
        head.append(f"   step {idx} of {len(rb.steps)}", style="bold")
        if st.complete:
            head.append("   runbook complete ✓", style="bold green")
        elif step.id != st.current:
            head.append(f"   (viewing; the current step is {st.current})", style="yellow")
        outcome = st.outcomes.get(step.id)
        if outcome:
            label = (
                outcome.outcome if outcome.outcome != "decided" else f"decided: {outcome.choice}"
            )
            head.append(
                f"   [{label}]",
                style="green" if outcome.outcome in ("done", "decided") else "yellow",
            )
        if step.kind == "decide":
            keys = " · ".join(
                f"{i} {c.label}" for i, c in enumerate(step.choices or [], 1) if self._may_choose(i)
            )
        else:
            keys = " · ".join(
                f"{k} {o}"
                for k, o in (("d", "done"), ("s", "skip"), ("f", "failed"))
                if self._may_record(OUTCOME_OF[o])
            )
            keys += " · D/S/F with a note" if keys else ""
        head.append("\n  " + (keys or "not reached: nothing to record here yet"), style="dim")
        if step.command:
            head.append(
                "  · c copy"
                + (" · e run" if oncall(self).session.workspace.config.allow_commands else ""),
                style="dim",
            )
        if step.check:
            head.append("  · k run check", style="dim")
        self.step_head = head
        self.paint_header()
        command = self.shown_command(step)
        self.query_one("#step-markdown", MarkdownView).update(
            step_markdown(rb, step, idx, command=command)
        )
        # what c sends, placeholders filled as far as known, for the mouse or tmux copy mode
        box = self.query_one("#step-command", TextArea)
        box.display = bool(command)
        if box.text != (command or ""):
            box.load_text(command or "")
        self.query_one("#steps-list", Static).update(self._steps_overview())

    def paint_header(self) -> None:
        """The incident's state above the step: severity, status, elapsed, acknowledged."""
        v = self.view
        if v is None:
            return
        r = v.row
        now = oncall(self).session.clock.now()
        t = Text()
        t.append(f"{self.incident_id} ", style="bold")
        t.append_text(fmt.sev_text(r.severity))
        t.append("  ")
        t.append_text(fmt.status_text(r.status))
        t.append(f"  elapsed {fmt.since(r.declared_at, r.resolved_at or now)}")
        if r.acknowledged_at is None:
            t.append("  not acknowledged (a)", style="bold yellow")
        t.append("\n")
        t.append_text(self.step_head)
        self.query_one("#triage-header", Static).update(t)

    # -- what may be recorded on the viewed step (the core's own rules, so nothing offered is
    # refused; a visited step may be redone, which rewinds the runbook there) ---------------
    def _may_record(self, outcome: str) -> bool:
        if self.state is None or self.viewing is None:
            return False
        try:
            self.state.check_outcome(self.viewing, outcome)
        except TriageError:
            return False
        return True

    def _may_choose(self, number: int) -> bool:
        if self.state is None or self.viewing is None:
            return False
        step = self.state.runbook.step(self.viewing)
        if step.kind != "decide" or not 1 <= number <= len(step.choices or []):
            return False
        try:
            self.state.resolve_choice(step.id, step.choices[number - 1].label)
        except TriageError:
            return False
        return True

    def on_key(self, event) -> None:
        """A key of this screen that is refused on the viewed step does nothing: it must not
        fall through to the app's binding for the same key (f is also Inject fault)."""
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            action, params = _parse(binding.action)
            if action in REFUSABLE and not self.check_action(action, params):
                event.stop()
                event.prevent_default()
                return

    def check_action(self, action: str, parameters) -> bool | None:
        if action in OUTCOME_OF:
            return self._may_record(OUTCOME_OF[action])
        if action == "with_note":
            return self._may_record(parameters[0])
        if action == "choose":
            return self._may_choose(parameters[0])
        step = self._step() if self.viewing else None
        if action in ("copy", "execute"):
            return bool(step and step.command)
        if action == "run_check":
            return bool(step and step.check)
        return True

    def _steps_overview(self) -> Text:
        """Every step with its outcome: the path taken so far, at a glance."""
        st = self.state
        out = Text()
        marks = {
            "done": ("✓", "green"),
            "skipped": ("↷", "yellow"),
            "failed": ("✗", "red"),
            "decided": ("◆", "green"),
        }
        for i, s in enumerate(st.runbook.steps, 1):
            o = st.outcomes.get(s.id)
            mark, style = marks.get(o.outcome, ("·", "dim")) if o else ("·", "dim")
            if s.id == st.current:
                mark, style = "▶", "bold cyan"
            line = Text(f"{mark} {i:>2} {s.title}", style=style if s.id == st.current or o else "")
            if s.id == self.viewing:
                line.stylize("reverse")
            if o and o.outcome == "decided":
                line.append(f"  → {o.choice}", style="green")
            out.append_text(line)
            out.append("\n")
        return out

    def check_escalation(self) -> None:
        st, view = self.state, self.view
        self.paint_header()  # the same clock as the warning: "elapsed" never lags it
        warn = self.query_one("#escalation-warning", Static)
        if st is None or view is None or st.runbook.escalation is None:
            warn.remove_class("-on")
            return
        esc = st.runbook.escalation
        now = oncall(self).session.clock.now()
        age = now - view.row.declared_at
        open_ = view.row.status in ("triage", "investigating", "identified")
        if open_ and age >= esc.after:
            warn.update(
                Text(
                    f"⚠ ESCALATE: this incident is {format_duration(age)} old, past the runbook's "
                    f"{format_duration(esc.after)}. Escalate to {esc.to}.",
                    style="bold",
                )
            )
            warn.add_class("-on")
        else:
            warn.remove_class("-on")

    # -- recording ---------------------------------------------------------------------------
    def action_with_note(self, outcome: str) -> None:
        if self.state is None or self.viewing is None:
            return
        step_id = self.viewing

        def done(note: str | None) -> None:
            if note is not None:
                self._record(outcome, note or None, step_id)

        self.app.push_screen(NoteModal(f"{step_id}: {outcome}, with a note"), done)

    def _record(self, outcome: str, note: str | None = None, step_id: str | None = None) -> None:
        if self.state is None or self.viewing is None:
            return
        step_id = step_id or self.viewing
        shown = Text(f"{step_id}: {outcome}" + (f" — {note}" if note else ""), style="green")
        oncall(self).run_core(
            f"mark {step_id} {outcome}",
            oncall(self).session.incidents.step,
            self.incident_id,
            step_id,
            outcome,
            note=note,
            after=lambda: self._recorded(shown),
        )

    def _recorded(self, shown: Text) -> None:
        """Called only once the event is committed: a refused one shows its error instead."""
        self.query_one("#step-result-body", Static).update(shown)
        self.load()

    def action_done(self) -> None:
        self._record("done")

    def action_skip(self) -> None:
        self._record("skipped")

    def action_failed(self) -> None:
        self._record("failed")

    def action_choose(self, number: int) -> None:
        if self.state is None:
            return
        step = self.state.runbook.step(self.viewing)
        if step.kind != "decide" or not step.choices or number > len(step.choices):
            return
        choice = step.choices[number - 1]
        shown = Text(f"{step.question} → {choice.label}", style="green")
        oncall(self).run_core(
            f"decide {choice.label}",
            oncall(self).session.incidents.decide,
            self.incident_id,
            step.id,
            choice.label,
            after=lambda: self._recorded(shown),
        )

    def action_note(self) -> None:
        self.query_one("#step-note", Input).focus()

    @on(Input.Submitted, "#step-note")
    def _note_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        self.set_focus(None)
        if text:
            oncall(self).run_core(
                "note", oncall(self).session.incidents.note, self.incident_id, text, after=self.load
            )

    def _trail(self) -> list[str]:
        return [*self.state.path, *self.ahead] if self.state else []

    def _view(self, pos: int) -> None:
        self.pos = pos
        self.viewing = self._trail()[pos]
        self.render_step()
        self.refresh_bindings()

    def action_prev(self) -> None:
        """Back along the path actually taken (outcomes and decisions), never onto a branch
        that was not taken."""
        if self.state is None or self.pos == 0:
            return
        if self.pos >= len(self.state.path):  # leaving a previewed step forgets it
            del self.ahead[self.pos - len(self.state.path) :]
        self._view(self.pos - 1)

    def action_next(self) -> None:
        """Forward along the path, then past the current step where it would flow (a
        decision's first choice)."""
        if self.state is None:
            return
        trail = self._trail()
        if self.pos + 1 < len(trail):
            self._view(self.pos + 1)
            return
        if self.state.complete and not self.ahead:
            return  # the path ends where the runbook ended
        nxt = self.state.runbook.successors(trail[self.pos])
        if nxt and nxt[0] not in self.ahead:
            self.ahead.append(nxt[0])
            self._view(self.pos + 1)

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- the incident itself: the incident screen's own dialogs and calls ----------------------
    def _incident_screen(self):
        """The incident screen this triage was opened from (every way here passes through it),
        so ack, status and severity behave exactly as they do there."""
        from mlops_oncall.ui.screens.incident import IncidentScreen

        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, IncidentScreen) and screen.incident_id == self.incident_id:
                return screen
        return None

    def _on_incident(self, action: str) -> None:
        screen = self._incident_screen()
        if screen is None or screen.view is None:
            self.notify("Open the incident (esc) to change it", severity="warning")
            return
        if self.view is not None and self.view.row.head_seq > screen.view.row.head_seq:
            screen.view = self.view  # the fresher of the two decides what is offered
        getattr(screen, f"action_{action}")()

    def action_ack(self) -> None:
        self._on_incident("ack")

    def action_status(self) -> None:
        self._on_incident("status")

    def action_severity(self) -> None:
        self._on_incident("severity")

    # -- commands and checks -------------------------------------------------------------------
    def _step(self):
        return self.state.runbook.step(self.viewing) if self.state else None

    def action_copy(self) -> None:
        step = self._step()
        if step is None or not step.command:
            self.notify("This step has no command", severity="warning")
            return
        # OSC 52: works over SSH and in tmux; placeholders are filled (or asked for) first
        self.copy_command(step, self._copied)

    _copied = (
        "Command sent to the terminal's clipboard (OSC 52). If it does not paste (tmux: "
        "set -g set-clipboard on), select it in the box under the step."
    )

    def action_execute(self) -> None:
        step = self._step()
        cfg = oncall(self).session.workspace.config
        if step is None or not step.command:
            self.notify("This step has no command", severity="warning")
            return
        if not cfg.allow_commands:
            self.notify(
                "Running commands is off; set allow_commands: true in oncall.yaml (c copies it)",
                severity="warning",
            )
            return

        # placeholders filled (or asked for), then the confirmation the step's risk needs
        self.confirm_command(step, cfg.command_timeout.total_seconds(), self._copied)

    @work(thread=True, group="triage-command")
    def run_command(self, step_id: str, command: str, timeout: float) -> None:
        from mlops_oncall.incidents.commands import run_and_record

        s = oncall(self).session
        body = self.query_one("#step-result-body", Static)
        try:
            result = run_and_record(
                s.incidents, self.incident_id, step_id, command, timeout=timeout
            )
        except Exception as exc:  # recorded by run_and_record; the screen stays up
            self.app.call_from_thread(body.update, Text(f"command failed: {exc}", style="red"))
            self.app.call_from_thread(self.load)
            return
        ok = result.exit_code == 0 and not result.timed_out and not result.held_open
        text = Text()
        text.append(result.outcome(), style="green" if ok else "red")
        text.append(f" in {result.seconds:.1f}s\n")
        if result.dropped_bytes:
            text.append(f"({result.dropped_bytes} bytes of output dropped)\n", style="dim")
        text.append(result.output[-1500:])
        self.app.call_from_thread(body.update, text)
        self.app.call_from_thread(self.load)

    def action_run_check(self) -> None:
        step = self._step()
        if step is None or not step.check:
            self.notify("This step has no check", severity="warning")
            return
        self.query_one("#step-result-body", Static).update(
            Text(f"running {step.check}…", style="dim")
        )
        self.run_check(step.id, step.check)

    @work(thread=True, group="triage-check")
    def run_check(self, step_id: str, check_id: str) -> None:
        from mlops_oncall.incidents.commands import record_check_run

        app = oncall(self)
        monitor = app.monitor
        if monitor is None or monitor.spec(check_id) is None:
            app.call_from_thread(
                self.notify,
                f"check {check_id} is not in this workspace's checks",
                severity="warning",
            )
            return
        result = monitor.probe_now(check_id)
        record_check_run(app.session.incidents, self.incident_id, step_id, result)
        text = Text()
        style = {"up": "green", "degraded": "yellow", "down": "red"}.get(result.state, "")
        text.append(f"{check_id}: {result.state}", style=f"bold {style}")
        text.append(f"  {result.message}\n")
        for c in result.conditions:
            text.append(
                f"  {'✓' if c.success else '✗'} {c.message or c.condition}\n",
                style="green" if c.success else "red",
            )
        app.call_from_thread(self.query_one("#step-result-body", Static).update, text)
        app.call_from_thread(self.load)
