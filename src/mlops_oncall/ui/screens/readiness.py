"""A production-readiness review of one service (docs/readiness.md): the shipped checklist
with what the workspace knows filled in, the rest answered with one key, then kept.

The checks' states are the monitor's (no second probe); a command item runs only after the
same confirmation a runbook step's command gets, and only with `allow_commands: true`."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from mlops_oncall.formats.words import plural
from mlops_oncall.ui.modals import ConfirmCommandModal
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.lean_table import LeanTable

STATUS_STYLE = {"pass": "green", "partial": "yellow", "fail": "bold red", "unknown": "dim"}


class ReadinessScreen(Screen):
    DEFAULT_CSS = """
    #readiness-summary { height: 2; padding: 0 1; }
    #readiness-table { height: 1fr; }
    #readiness-detail { height: 5; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="readiness.back"),
        Binding("y", "answer('yes')", "Yes", id="readiness.yes"),
        Binding("p", "answer('partial')", "Partial", id="readiness.partial"),
        Binding("n", "answer('no')", "No", id="readiness.no"),
        Binding("x", "run_command", "Run command", id="readiness.run"),
        Binding("ctrl+s", "save", "Keep review", id="readiness.save", priority=True),
    ]

    def __init__(self, service: str):
        super().__init__()
        self.service = service
        self.checklist: Any = None
        self.findings: list[Any] = []
        self.risks: list[dict[str, Any]] = []
        self.saved: str | None = None  # the file of the review kept from this screen

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        yield Static("Loading…", id="readiness-summary")
        table = LeanTable(id="readiness-table", cursor_type="row", classes="panel")
        table.border_title = f"Readiness · {self.service}"
        yield table
        yield Static("", id="readiness-detail", classes="panel")
        yield LeanFooter()

    def on_mount(self) -> None:
        t = self.query_one("#readiness-table", DataTable)
        for key, label in (
            ("status", "Status"),
            ("weight", "W"),
            ("category", "Category"),
            ("title", "Item"),
            ("evidence", "Evidence"),
        ):
            t.add_column(label, key=key)
        t.focus()
        self.load()

    @work(thread=True, exclusive=True, group="readiness-load")
    def load(self) -> None:
        from mlops_oncall.readiness.evidence import evaluate
        from mlops_oncall.readiness.loader import load_checklist

        app = oncall(self)
        try:
            checklist = load_checklist()
            states = {
                cid: (v.state, v.last.message if v.last is not None else "")
                for cid, v in app.views.items()
            }
            facts = app.session.readiness_facts(checklist, self.service, states=states)
        except Exception as exc:  # a broken checklist or store: say why, keep the screen
            app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        app.call_from_thread(self._loaded, checklist, evaluate(checklist, facts), facts.risks)

    def _loaded(self, checklist, findings, risks) -> None:
        self.checklist, self.findings, self.risks = checklist, findings, risks
        t = self.query_one("#readiness-table", DataTable)
        t.clear()
        for f in findings:
            t.add_row(*self._cells(f), key=f.item.id)
        self._summarise()

    def _cells(self, f) -> tuple:
        status = f.status or "ask"
        mark = " ✓" if f.prefilled else ""
        detail = f.detail or (f.item.evidence.kind if f.status is None else "")
        return (
            Text(status + mark, style=STATUS_STYLE.get(status, "bold")),
            str(f.item.weight),
            f.item.category,
            f.item.title,
            detail,
        )

    def _summarise(self) -> None:
        from mlops_oncall.readiness import scoring
        from mlops_oncall.readiness.evidence import waiting

        score = scoring.overall(self.findings)
        cats = scoring.by_category(self.findings)
        left = len(waiting(self.findings))
        pre = sum(f.prefilled for f in self.findings)
        line1 = Text()
        line1.append(f"{score.percent}% ready", style="bold")
        line1.append(f" · {score.points:g}/{score.max} points · {pre} filled in ✓ · ")
        line1.append(f"{left} to answer" if left else "all answered")
        if self.risks:
            line1.append(f" · {plural(len(self.risks), 'risk')}")
        line2 = " ".join(f"{c} {s.percent:.0f}%" for c, s in cats.items())
        self.query_one("#readiness-summary", Static).update(Text.assemble(line1, "\n", line2))
        self._show_detail()

    def _selected(self):
        t = self.query_one("#readiness-table", DataTable)
        if not self.findings or t.row_count == 0:
            return None
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        return next((f for f in self.findings if f.item.id == key), None)

    @on(DataTable.RowHighlighted, "#readiness-table")
    def _show_detail(self) -> None:
        f = self._selected()
        body = self.query_one("#readiness-detail", Static)
        if f is None:
            return
        ev = f.item.evidence
        text = Text()
        text.append(f.item.title, style="bold")
        text.append(f"  [{f.item.id}]\n", style="dim")
        if ev.ask:
            text.append(ev.ask + "\n")
        elif ev.command:
            from mlops_oncall.readiness.evidence import command_text

            text.append("$ " + command_text(f.item, self.service) + "\n", style="dim")
        if f.item.why:
            text.append(f.item.why + "\n", style="italic")
        if f.status is None:
            keys = "x run it, or y/p/n" if ev.command else "y yes · p partial · n no"
            text.append(keys, style="bold")
        elif f.detail:
            text.append(f.detail)
        body.update(text)

    def _refresh_row(self, f) -> None:
        t = self.query_one("#readiness-table", DataTable)
        for col, value in zip(
            ("status", "weight", "category", "title", "evidence"), self._cells(f), strict=True
        ):
            t.update_cell(f.item.id, col, value)
        self._summarise()

    def action_answer(self, word: str) -> None:
        from mlops_oncall.readiness.evidence import answer

        f = self._selected()
        if f is None:
            return
        if f.prefilled:
            self.notify("Filled in from the workspace: fix the check, runbook or SLO instead.")
            return
        answer(f, word)
        self._refresh_row(f)
        t = self.query_one("#readiness-table", DataTable)
        if t.cursor_row + 1 < t.row_count:
            t.move_cursor(row=t.cursor_row + 1)

    def action_run_command(self) -> None:
        from mlops_oncall.readiness.commands import DEFAULT_TIMEOUT
        from mlops_oncall.readiness.evidence import command_text

        f = self._selected()
        if f is None or f.item.evidence.command is None:
            self.notify("This item has no command.")
            return
        if not oncall(self).session.workspace.config.allow_commands:
            self.notify("Running commands is off; set allow_commands: true in oncall.yaml")
            return
        ev = f.item.evidence
        timeout = ev.timeout.total_seconds() if ev.timeout else DEFAULT_TIMEOUT
        text = command_text(f.item, self.service)

        def answered(choice) -> None:
            if choice is True:
                self.run_item(f)
            elif choice == "copy":
                oncall(self).copy_to_clipboard(text)
                self.notify("Copied")

        self.app.push_screen(
            ConfirmCommandModal(text, timeout, risk=ev.risk or "read", target=self.service),
            answered,
        )

    @work(thread=True, group="readiness-run")
    def run_item(self, f) -> None:
        from mlops_oncall.readiness.commands import run_item

        run_item(f, self.service)
        self.app.call_from_thread(self._refresh_row, f)

    def action_save(self) -> None:
        from mlops_oncall.readiness.evidence import waiting

        if self.checklist is None:
            self.notify("Still loading…")
            return
        left = waiting(self.findings)
        if left:
            self.notify(f"{plural(len(left), 'item')} still to answer: they are kept as unknown")
        self.save()

    @work(thread=True, exclusive=True, group="readiness-save")
    def save(self) -> None:
        from mlops_oncall.readiness.loader import shipped_checklist
        from mlops_oncall.readiness.review import Reviews, build

        session = oncall(self).session
        try:
            review = build(
                self.checklist,
                self.findings,
                service=self.service,
                at=session.clock.now(),
                actor=session.actor,
                checklist_file=f"shipped:{shipped_checklist().name}",
                risks=self.risks,
            )
            path = Reviews(session.readiness_dir).save(session.redactor.value(review))
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.saved = str(path)
        self.app.call_from_thread(
            self.notify, f"Kept: {review['score']['percent']}% ready ({path.name})"
        )

    def action_back(self) -> None:
        self.app.pop_screen()
