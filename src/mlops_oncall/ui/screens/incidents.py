"""Incident history: open and past incidents, a filter and search as you type; Enter opens one."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.lean_table import LeanTable

FILTERS = ("open", "all", "resolved", "drills")
LOADED = 2000  # newest incidents read; the search runs over these in memory
TITLE_WIDTH = 44  # the whole title is on the incident screen


def matches(row: dict, flt: str, words: list[str]) -> bool:
    from mlops_oncall.formats.refs import public_id
    from mlops_oncall.incidents.lifecycle import OPEN_STATUSES

    if flt == "open" and row.status not in OPEN_STATUSES:
        return False
    if flt == "resolved" and row.status not in ("resolved", "closed"):
        return False
    if flt == "drills" and not row.is_drill:
        return False
    hay = " ".join(
        str(x or "")
        for x in (
            public_id(row.id),
            row.title,
            row.service,
            row.severity,
            row.status,
        )
    ).lower()
    return all(w in hay for w in words)


class IncidentsScreen(Screen):
    DEFAULT_CSS = """
    IncidentsScreen #incidents-screen { height: 1fr; }
    IncidentsScreen #incidents-filter { height: auto; padding: 0 1; }
    IncidentsScreen #incidents-list { height: 1fr; }
    IncidentsScreen.-short #incidents-search { border: none; height: 1; background: $boost; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="incidents.back"),
        Binding("slash", "focus_search", "Search", id="incidents.search"),
        Binding("ctrl+f", "cycle_filter", "Filter", id="incidents.filter"),
        Binding("down", "focus_table", "List", id="incidents.list", show=False),
    ]

    def __init__(self, flt: str = "open"):
        super().__init__()
        self.filter = flt
        self.rows: list[dict] = []
        self.ids: list[str] = []  # the incidents listed, in order
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        with Vertical(id="incidents-screen", classes="panel") as pane:
            pane.border_title = "Incidents"
            yield Input(placeholder="Search: id, title, service, severity…", id="incidents-search")
            yield Static("", id="incidents-filter")
            yield LeanTable(id="incidents-list", cursor_type="row")
        yield LeanFooter()

    def on_mount(self) -> None:
        table = self.query_one("#incidents-list", DataTable)
        for label, key in (
            ("Incident", "id"),
            ("Sev", "sev"),
            ("Status", "status"),
            ("Title", "title"),  # before the rest: at 80 columns it is what tells them apart
            ("Declared", "declared"),
            ("Took", "took"),
            ("Service", "service"),
        ):
            table.add_column(label, key=key)
        self.query_one("#incidents-search", Input).focus()
        self.load()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.load()  # back from an incident that may have moved on

    @work(thread=True, exclusive=True, group="incidents-load")
    def load(self) -> None:
        rows = oncall(self).session.incidents.list(limit=LOADED)
        self.app.call_from_thread(self._loaded, rows)

    def _loaded(self, rows: list[dict]) -> None:
        self.rows = rows
        self.loaded = True
        self.refresh_list()

    # -- the list --------------------------------------------------------------------------------
    def refresh_list(self) -> None:
        from mlops_oncall.formats.refs import public_id
        from mlops_oncall.reports.text import terminal_text

        s = oncall(self).session
        zone, now = s.workspace.zone(), s.clock.now()
        words = self.query_one("#incidents-search", Input).value.lower().split()
        shown = [r for r in self.rows if matches(r, self.filter, words)]
        table = self.query_one("#incidents-list", DataTable)
        keep = self.ids[table.cursor_row] if self.ids and table.row_count else None
        table.clear()
        self.ids = []
        for r in shown:
            pid = public_id(r.id)
            title = Text(terminal_text(r.title))
            title.truncate(TITLE_WIDTH, overflow="ellipsis")
            if r.is_drill:
                title = Text("DRILL ", style="bold black on yellow") + title
            table.add_row(
                pid,
                fmt.sev_text(r.severity),
                fmt.status_text(r.status),
                title,
                fmt.stamp(r.declared_at, zone)[:16],
                fmt.since(r.declared_at, r.resolved_at or now),
                terminal_text(r.service or ""),
                key=pid,
            )
            self.ids.append(pid)
        if keep in self.ids:
            table.move_cursor(row=self.ids.index(keep))
        self.query_one(
            "#incidents-screen"
        ).border_title = f"Incidents: {self.filter} ({len(shown)})"
        more = f" (the newest {LOADED} searched)" if len(self.rows) >= LOADED else ""
        hint = Text()
        for f in FILTERS:
            hint.append(f" {f} ", style="reverse bold" if f == self.filter else "dim")
        hint.append(f"   ctrl+f filter · enter open{more}", style="dim")
        if not shown:
            hint.append("\nNo incidents match.", style="yellow")
        self.query_one("#incidents-filter", Static).update(hint)

    @on(Input.Changed, "#incidents-search")
    def _searched(self, event: Input.Changed) -> None:
        if self.loaded:
            self.refresh_list()

    @on(Input.Submitted, "#incidents-search")
    def _search_enter(self, event: Input.Submitted) -> None:
        self._open_highlighted()

    @on(DataTable.RowSelected, "#incidents-list")
    def _selected(self, event: DataTable.RowSelected) -> None:
        oncall(self).open_incident(str(event.row_key.value))

    def _open_highlighted(self) -> None:
        table = self.query_one("#incidents-list", DataTable)
        if self.ids and table.row_count:
            oncall(self).open_incident(self.ids[table.cursor_row])

    # -- actions ---------------------------------------------------------------------------------
    def action_cycle_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self.refresh_list()

    def action_focus_search(self) -> None:
        self.query_one("#incidents-search", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#incidents-list", DataTable).focus()

    def action_back(self) -> None:
        self.app.pop_screen()
