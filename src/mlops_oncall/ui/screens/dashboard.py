"""The dashboard: checks grouped with state, latency trend, error and age; open incidents; what changed."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.widgets.data_table import ColumnKey, RowDoesNotExist

from mlops_oncall.formats.vocabulary import FAILING
from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.coalesce import one_at_a_time
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import ChecksBanner, DrillBanner
from mlops_oncall.ui.widgets.inbox import InboxBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.lean_table import LeanTable
from mlops_oncall.ui.widgets.outbox import OutboxBanner
from mlops_oncall.ui.widgets.refused import RefusedBanner
from mlops_oncall.ui.widgets.slo_panel import SloPanel

CHECK_COLUMNS = ("state", "check", "latency", "trend", "for", "blocked", "error")
CONFIG_ERROR = Text("✗ config", style="bold red")  # a refused entry; the detail panel says why


class DashboardScreen(Screen):
    _lists_shown: tuple | None = None  # the incidents and deploys rows on screen
    _deploys: tuple = ()  # the deploys on screen, whose "Ago" the tick keeps counting
    _next_due = None  # the soonest status update due among the incidents shown (re-read then)
    BINDINGS = [
        Binding("d", "declare", "Declare", id="dashboard.declare"),
        Binding("enter", "open", "Open", id="dashboard.open", show=False),
        Binding("c", "focus_checks", "Checks", id="dashboard.focus_checks", show=False),
        Binding("i", "focus_incidents", "Incidents", id="dashboard.focus_incidents"),
        Binding("a", "alerts", "Alerts", id="dashboard.alerts"),
        Binding("w", "focus_deploys", "What changed", id="dashboard.focus_deploys", show=False),
        Binding("s", "handoff", "Hand-off", id="dashboard.handoff"),
        Binding("p", "readiness", "Readiness", id="dashboard.readiness"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        yield RefusedBanner()
        yield ChecksBanner()
        yield OutboxBanner()
        yield InboxBanner()  # Alertmanager's groups waiting for a human (a: the inbox)
        # each panel is the widget itself, bordered and titled: no wrapping containers (four
        # fewer widgets to style and lay out before the first frame)
        with Horizontal(id="dashboard"):
            with Vertical(id="main-column"):
                yield SloPanel()  # each SLO's budget left; hidden without a slos.yaml
                checks = LeanTable(
                    id="checks-table", cursor_type="row", zebra_stripes=False, classes="panel"
                )
                checks.border_title = "Checks"
                yield checks
                detail = Static("Loading checks…", id="check-detail-body", classes="panel")
                detail.border_title = "Selected check"
                yield detail
            with Vertical(id="side"):
                incidents = LeanTable(id="incidents-table", cursor_type="row", classes="panel")
                incidents.border_title = "Open incidents"
                yield incidents
                deploys = LeanTable(id="deploys-table", cursor_type="row", classes="panel")
                deploys.border_title = "What changed"
                yield deploys
        yield LeanFooter()

    def on_mount(self) -> None:
        self._check_names: dict[str, Text] = {}
        self._stale_rows: set[str] = set()  # changed while off screen
        t = self.query_one("#checks-table", DataTable)
        self.watch(t, "scroll_y", self._scrolled, init=False)
        widths = (10, None, 8, 10, 7, 14, 34)  # fixed: a poll never moves the columns
        labels = ("State", "Check", "Latency", "Trend", "For", "Blocked by", "Error")
        for key, label, width in zip(CHECK_COLUMNS, labels, widths, strict=True):
            t.add_column(label, key=key, width=width)
        inc = self.query_one("#incidents-table", DataTable)
        for key, label in (("id", "ID"), ("sev", "Sev"), ("status", "Status"), ("title", "Title")):
            inc.add_column(label, key=key)
        dep = self.query_one("#deploys-table", DataTable)
        for key, label in (("at", "Ago"), ("service", "Service"), ("change", "Change")):
            dep.add_column(label, key=key)
        t.focus()
        if oncall(self).checks_loaded:
            self.build_checks()
        if oncall(self).ready:
            self.refresh_lists()
        # the lists refresh when the store's watcher reports an incident or a deploy changed
        # (the app calls refresh_lists): an idle dashboard sends no query of its own
        self.set_interval(1.0, self.tick)

    # -- checks ----------------------------------------------------------------------------
    def build_checks(self) -> None:
        """Add one row per check, grouped; rows are updated in place afterwards."""
        app = oncall(self)
        t = self._checks_table()
        if t is None:  # not mounted yet: on_mount builds the rows
            return
        keep = self.selected_key()
        t.clear()
        self.query_one(ChecksBanner).show(app)
        specs = app.specs
        refused = app.refused_checks
        if not app.checks_loaded:
            self.query_one("#check-detail-body", Static).update("Loading checks…")
            return
        if not specs and not refused:
            # plain text: the problems quote YAML and placeholders such as [STATUS]
            self.query_one("#check-detail-body", Static).update(Text(self._empty_message()))
            return
        by_group: dict[str, list] = {}  # groups in the order the checks file gives them
        for spec in specs.values():
            by_group.setdefault(spec.group or "other", []).append((spec.id, spec.id))
        for r in refused:  # a broken entry stays in sight, in its own group if it named one
            by_group.setdefault(r.group or "other", []).append((f"refused:{r.index}", r.id))
        # the name column sized now, as the others are: measured later, when idle, it would
        # widen after the rows were first drawn and every row would be drawn again
        names = t.columns[ColumnKey("check")]
        names.auto_width = False
        names.width = max(len(name) + 2 for rows in by_group.values() for _, name in rows)
        for group in by_group:
            t.add_row(
                Text(group.upper(), style="bold"), "", "", "", "", "", "", key=f"group:{group}"
            )
            for key, _name in by_group[group]:
                t.add_row(*self._cells(key), key=key)
        row = 1  # the first check, not its group's heading
        if keep is not None and keep in t.rows:
            row = t.get_row_index(keep)
        t.move_cursor(row=row)
        self.update_detail()

    def _empty_message(self) -> str:
        app = oncall(self)
        s = app.session
        error = app.checks_error
        if error:
            lines = "\n".join(str(p) for p in error[:6])
            return f"{s.checks_path} was refused, so no check is polled:\n{lines}"
        if not s.has_workspace:
            return (
                "No workspace here: no oncall.yaml and no checks.yaml, so there is nothing to "
                "watch.\nRun `mlops-oncall init` to write a starter workspace in this folder, "
                "or `mlops-oncall demo` to try everything on a fake ML system."
            )
        return (
            f"No checks configured: add checks to {s.checks_path} (`mlops-oncall init` writes "
            "an example). It is read again when it changes."
        )

    def _refused(self, key: str):
        index = int(key.removeprefix("refused:"))
        return next((r for r in oncall(self).refused_checks if r.index == index), None)

    def _cells(self, check_id: str) -> tuple:
        app = oncall(self)
        if check_id.startswith("refused:"):
            r = self._refused(check_id)
            err = r.problems[0].message if r is not None and r.problems else ""
            err = err if len(err) <= 34 else err[:33] + "…"
            name = Text("  " + (r.id if r is not None else check_id))
            return (CONFIG_ERROR, name, "–", "", "", "", Text(err, style="red"))
        view = app.views.get(check_id)
        now = app.session.clock.now()
        name = self._check_name(check_id)
        if view is None:
            return (fmt.state_text("unknown"), name, "–", "", "", "", "")  # state .. error
        last = view.last
        err = ""
        if last is not None and last.state != "up":
            err = f"{last.error_class or ''}: {last.message}" if last.error_class else last.message
        if len(err) > 34:
            err = err[:33] + "…"
        trend = fmt.sparkline([r.latency_ms for r in view.ring], width=10)
        blocked = ", ".join(view.blocked_by)
        state = (
            fmt.state_text(last.state, provisional=True)
            if view.state == "unknown" and last is not None
            else fmt.state_text(view.state)
        )
        return (
            state,
            name,
            fmt.latency(last.latency_ms if last else None),
            trend,
            fmt.since(view.since, now),
            Text(blocked, style="dim") if blocked else "",
            Text(err, style="red" if view.state == "down" else "yellow") if err else "",
        )

    def _check_name(self, check_id: str) -> Text:
        """The check column: built once per check, it never changes."""
        name = self._check_names.get(check_id)
        if name is None:
            name = self._check_names[check_id] = Text("  " + check_id)
        return name

    def _checks_table(self) -> DataTable | None:
        found = self.query("#checks-table")
        if not found:
            return None
        table = found.first(DataTable)
        return table if table.columns else None

    def update_checks(self, check_ids) -> None:
        """Redraw the rows on screen now; the others when they scroll into view.

        Any cell update makes DataTable drop every cached render, so with a thousand checks
        (96% of them off screen) writing every result as it came re-rendered the visible rows
        four times a second and slowed the cursor during a first round of polls."""
        t = self._checks_table()
        if t is None:
            return
        visible = set(self._visible_rows(t))
        self._stale_rows.update(cid for cid in check_ids if cid not in visible)
        self._write_rows(t, [cid for cid in check_ids if cid in visible])
        selected = self.selected_check()
        if selected is None or selected in check_ids:
            self.update_detail()

    def _write_rows(self, t: DataTable, check_ids) -> None:
        if not check_ids:
            return
        with self.app.batch_update():
            for cid in check_ids:
                try:
                    cells = self._cells(cid)
                    for key, value in zip(CHECK_COLUMNS, cells, strict=True):
                        if key != "check":  # the name never changes
                            t.update_cell(cid, key, value)
                except RowDoesNotExist:
                    continue

    def _scrolled(self) -> None:
        """Rows that changed while off screen catch up as they come into view."""
        t = self._checks_table()
        if t is None or not self._stale_rows:
            return
        now = [cid for cid in self._visible_rows(t) if cid in self._stale_rows]
        self._stale_rows.difference_update(now)
        self._write_rows(t, now)

    def tick(self) -> None:
        """Refresh the "for" column so ages keep counting between polls."""
        app = oncall(self)
        self._deploy_ages()
        if self._next_due is not None and app.session.clock.now() > self._next_due:
            self._next_due = None  # an update became overdue: one read of the lists
            self.refresh_lists()
        t = self._checks_table()
        if not app.views or t is None:
            return
        self._scrolled()  # a safety net: whatever is on screen is at most a second old
        now = app.session.clock.now()
        with app.batch_update():
            for cid in self._visible_rows(t):
                view = app.views.get(cid)
                if view is not None:
                    t.update_cell(cid, "for", fmt.since(view.since, now))

    def _deploy_ages(self) -> None:
        """The deploys' "Ago" counts on between reads, from the rows already read."""
        if not self._deploys or self._lists_shown is None:
            return
        now = oncall(self).session.clock.now()
        shown = self._lists_shown[1]
        dep = self.query_one("#deploys-table", DataTable)
        for row, (d, was) in enumerate(zip(self._deploys, shown, strict=False)):
            since = fmt.since(d.at, now)
            if since != was[0] and row < dep.row_count:
                dep.update_cell_at(Coordinate(row, 0), since)
                shown[row] = (since, *was[1:])

    def _visible_rows(self, t: DataTable) -> list[str]:
        """Keys of the rows on screen: with a thousand checks, only these need their age redrawn
        every second; the others catch up within a second of being scrolled to."""
        first = max(0, int(t.scroll_y) - 1)
        last = min(t.row_count, first + t.size.height + 2)
        keys = []
        for i in range(first, last):
            key = t.ordered_rows[i].key.value
            if key and not key.startswith("group:"):
                keys.append(key)
        return keys

    def selected_check(self) -> str | None:
        key = self.selected_key()
        return None if key is None or key.startswith("refused:") else key

    def selected_key(self) -> str | None:
        """The selected row's key: a check id, or refused:N for a refused entry."""
        t = self._checks_table()
        if t is None or t.row_count == 0:
            return None
        try:
            key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        except Exception:
            return None
        return None if key is None or key.startswith("group:") else key

    @on(DataTable.RowHighlighted, "#checks-table")
    def _highlighted(self) -> None:
        self.update_detail()

    def update_detail(self) -> None:
        app = oncall(self)
        body = self.query_one("#check-detail-body", Static)
        key = self.selected_key()
        if key is not None and key.startswith("refused:"):
            body.update(self._refused_detail(key), layout=False)
            return
        cid = self.selected_check()
        if cid is None:
            return
        spec = app.specs.get(cid)
        view = app.views.get(cid)
        text = Text()
        text.append(f"{cid}", style="bold")
        if spec is not None:
            text.append(f"  {spec.kind.upper()} {spec.url}", style="dim")
            if spec.service:
                text.append(f"  service {spec.service}")
        text.append("\n")
        if view is None or view.last is None:
            text.append("not polled yet", style="dim")
        else:
            last = view.last
            text.append_text(fmt.state_text(view.state))
            text.append(f"  {fmt.latency(last.latency_ms)}  {last.message}\n")
        # the suggestion before the conditions: in a panel of fixed height it must not be cut
        failing = view is not None and view.state in FAILING and not view.blocked_by
        suggestions = app.suggestions_for(cid) if failing else []
        open_inc = app.open_incident_for(cid)
        if suggestions:
            best = suggestions[0]
            text.append("Suggested runbook: ", style="bold")
            text.append(f"{best.runbook_id}", style="bold cyan")
            text.append(f" — {'; '.join(best.reasons)}", style="dim")
            text.append("   (press d to declare)\n" if open_inc is None else "\n", style="dim")
        if open_inc is not None:
            text.append(f"{open_inc['id']} open", style="bold magenta")
            # here, not at the top: reports.text pulls in pydantic before the first frame
            from mlops_oncall.reports.text import terminal_text

            text.append(f": {terminal_text(open_inc['title'])}  (i: open incidents)\n", style="dim")
        if view is not None and view.last is not None:
            for c in view.last.conditions[:4]:
                mark, style = (
                    ("✓", "green") if c.success else ("✗", "red" if c.level == "fail" else "yellow")
                )
                text.append(f"  {mark} ", style=style)
                text.append(f"{c.message or c.condition}\n")
        text.rstrip()
        body.update(text, layout=False)  # its height is fixed in the stylesheet

    def _refused_detail(self, key: str) -> Text:
        r = self._refused(key)
        text = Text()
        if r is None:
            return text
        text.append(r.id, style="bold")
        text.append("  ")
        text.append("✗ config error", style="bold red")
        text.append("  not polled until the entry is fixed (checks.yaml is read again on save)\n")
        for p in r.problems:
            text.append(f"{p}\n", style="red")
        text.rstrip()
        return text

    # -- incidents and deploys (read in a thread, applied on the UI loop) --------------------
    @work(thread=True, group="dashboard-lists")
    @one_at_a_time  # a storm's notifications: one read in flight, one more after it
    def refresh_lists(self) -> None:
        app = oncall(self)
        if not app.ready:
            return
        s = app.session
        incidents = s.incidents.list(status="open", limit=50)
        deploys = s.deploys.list(limit=30)
        cadences = s.notify.cadences(incidents)  # one query: each one's last status update
        app.call_from_thread(self._show_lists, incidents, deploys, cadences)

    def _show_lists(self, incidents, deploys, cadences=None) -> None:
        if (
            not self.query("#deploys-table")
            or not self.query_one("#deploys-table", DataTable).columns
        ):
            return  # not mounted yet; the next refresh fills it
        from mlops_oncall.formats.refs import public_id

        before = oncall(self).open_incidents
        oncall(self).open_incidents = [
            {
                "id": public_id(r.id),
                "title": r.title,
                "service": r.service,
                "declared_from_check": r.declared_from_check,
            }
            for r in incidents
            if not r.is_drill or oncall(self).session.drill_id
        ]
        if oncall(self).open_incidents != before:
            self.update_detail()  # "INC-0007 open" for the selected check

        now = oncall(self).session.clock.now()
        deploy_rows = [
            (
                fmt.since(d.at, now),
                d.service,
                fmt.deploy_version(d.version, d.notes),
                d.kind,
                d.outcome,
            )
            for d in deploys
        ]
        # every two seconds, and mostly unchanged: rebuilding the tables anyway repainted them
        # and restyled their scrollbars, a frame's work a keystroke could land behind
        cadences = cadences or {}
        overdue = {r.id for r in incidents if r.id in cadences and cadences[r.id].overdue}
        dues = [c.due for c in cadences.values() if c.due is not None and not c.overdue]
        self._next_due = min(dues, default=None)
        shown = (
            [(r.id, r.severity, r.status, r.title, r.is_drill, r.id in overdue) for r in incidents],
            deploy_rows,
        )
        if shown == self._lists_shown:
            return
        self._lists_shown = shown
        self._deploys = tuple(deploys)
        inc = self.query_one("#incidents-table", DataTable)
        keep = inc.cursor_row
        inc.clear()
        for r in incidents:
            title = r.title
            if r.is_drill and not title.startswith("[drill]"):  # drills title theirs so
                title += "  [drill]"
            cell = Text(title)
            if r.id in overdue:
                cell.append("  update overdue", style="bold red")
            inc.add_row(
                public_id(r.id),
                fmt.sev_text(r.severity),
                fmt.status_text(r.status),
                cell,
                key=public_id(r.id),
            )
        if incidents:
            inc.move_cursor(row=min(keep, len(incidents) - 1))
        inc.border_title = f"Open incidents ({len(incidents)})"
        dep = self.query_one("#deploys-table", DataTable)
        dep.clear()
        for since, service, version, kind, outcome in deploy_rows:
            dep.add_row(since, service, fmt.change_text(version, kind, outcome))

    # -- actions ---------------------------------------------------------------------------
    def action_focus_checks(self) -> None:
        self.query_one("#checks-table").focus()

    def action_focus_incidents(self) -> None:
        self.query_one("#incidents-table").focus()

    def action_focus_deploys(self) -> None:
        self.query_one("#deploys-table").focus()

    def action_declare(self) -> None:
        oncall(self).declare_from_check(self.selected_check())

    def action_handoff(self) -> None:
        oncall(self).action_handoff()

    def action_alerts(self) -> None:
        oncall(self).action_alerts()

    def action_readiness(self) -> None:
        """A readiness review of the selected check's service (else the first service)."""
        app = oncall(self)
        cid = self.selected_check()
        spec = app.specs.get(cid) if cid else None
        service = spec.service if spec is not None else None
        service = service or next((s.service for s in app.specs.values() if s.service), None)
        if service is None:
            self.notify("No check names a service: add service: to checks.yaml")
            return
        from mlops_oncall.ui.screens.readiness import ReadinessScreen

        app.push_screen(ReadinessScreen(service))

    def action_open(self) -> None:
        focused = self.focused
        if focused is not None and focused.id == "incidents-table":
            t = self.query_one("#incidents-table", DataTable)
            if t.row_count:
                key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
                oncall(self).open_incident(key)

    @on(DataTable.RowSelected, "#incidents-table")
    def _incident_selected(self, event: DataTable.RowSelected) -> None:
        oncall(self).open_incident(event.row_key.value)

    @on(DataTable.RowSelected, "#checks-table")
    def _check_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key and not key.startswith("group:"):
            view = oncall(self).views.get(key)
            if view is not None and view.state in FAILING:
                oncall(self).declare_from_check(key)
