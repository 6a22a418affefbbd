"""The alerts inbox: Alertmanager's groups as the webhook stored them (alerts/service.py),
newest first, the selected group's alerts beside them, and what a responder does with one:
declare (the declare dialog, prefilled as from a failing check), attach to an open incident,
dismiss, silence in Alertmanager. Re-read when the store's watcher reports an alert group or
an incident changed (the app calls ``reload``): no timer reads the store."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.coalesce import one_at_a_time
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.lean_table import LeanTable

COLUMNS = (  # fixed widths; the alert's takes what is left (``_fit``): 80 columns show all
    ("state", "State", 9),
    ("sev", "Sev", 6),
    ("alert", "Alert", 0),  # COLUMNS_ALERT until the screen's width is known
    ("service", "Service", 13),
    ("firing", "Firing", 6),
    ("age", "Age", 5),
    ("incident", "Incident", 8),
)
MIN_ALERT = 12
COLUMNS_ALERT = 16
STATE_STYLE = {"inbox": "bold yellow", "declared": "magenta", "attached": "magenta"}
UNDECIDED = ("inbox", "dismissed")  # what declare and attach accept


def _clean(text: Any) -> str:
    from mlops_oncall.reports.text import terminal_text  # stored text, never sent raw

    return terminal_text(str(text))


class AlertsScreen(Screen):
    DEFAULT_CSS = """
    #alerts-body { height: 1fr; }
    #alerts-table { width: 3fr; height: 1fr; }
    #alert-detail { width: 2fr; height: 1fr; }
    AlertsScreen.-narrow #alerts-body { layout: vertical; }
    AlertsScreen.-narrow #alerts-table { width: 100%; height: 1fr; }
    AlertsScreen.-narrow #alert-detail { width: 100%; height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="alerts.back"),
        Binding("d", "declare", "Declare", id="alerts.declare"),
        Binding("a", "attach", "Attach", id="alerts.attach"),
        Binding("s", "silence", "Silence", id="alerts.silence"),
        Binding("x", "dismiss_group", "Dismiss", id="alerts.dismiss"),
        Binding("enter", "open", "Open incident", id="alerts.open", show=False),
        Binding("ctrl+f", "toggle_all", "All groups", id="alerts.all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[Any] | None = None  # GroupViews as last read, None before the first
        # the selected group read whole (labels, annotations): the list reads names only
        self.detail: Any | None = None
        self._want: str | None = None  # the group whose detail to read (set on the UI loop)
        self.show_all = False
        self._shown: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="alerts-body"):
            table = LeanTable(id="alerts-table", cursor_type="row", classes="panel")
            table.border_title = "Alert groups"
            yield table
            with VerticalScroll(id="alert-detail", classes="panel") as detail:
                detail.border_title = "Alerts of the group"
                yield Static("Loading…", id="alert-detail-body")
        yield LeanFooter()

    def on_mount(self) -> None:
        self._columns(COLUMNS_ALERT)
        self.query_one("#alerts-table", DataTable).focus()
        self.reload()

    def _columns(self, alert_width: int) -> None:
        t = self.query_one("#alerts-table", DataTable)
        self._alert_width = alert_width
        for key, label, width in COLUMNS:
            t.add_column(label, key=key, width=alert_width if key == "alert" else width)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """The alert names' column takes the width the others leave (no sideways scroll):
        the columns are made again at the new width, and the rows shown again."""
        t = self.query_one("#alerts-table", DataTable)
        pad = 2 * t.cell_padding
        others = sum(w + pad for key, _, w in COLUMNS if key != "alert")
        width = max(MIN_ALERT, t.scrollable_content_region.width - others - pad + 1)
        if width == self._alert_width:
            return
        t.clear(columns=True)
        self._columns(width)
        self._shown = None
        if self.groups is not None:
            self._show(self.groups)

    # -- reading (a thread), showing (the UI loop) ----------------------------------------
    @work(thread=True, group="alerts-inbox")
    @one_at_a_time  # an alert storm's notifications: one read in flight, one more after it
    def reload(self) -> None:
        app = oncall(self)
        if not app.ready:
            return
        alerts = app.session.alerts
        try:
            groups = alerts.groups(all=self.show_all, brief=True)  # names and states
            want = self._want if self._want in {g.id for g in groups} else None
            want = want or (groups[0].id if groups else None)
            detail = alerts.get(want) if want else None
        except Exception as exc:  # a locked or unreachable database: said, the list stays
            app.call_from_thread(
                app.notify, f"{type(exc).__name__}: {exc}", title="Could not read the alerts",
                severity="error",
            )  # fmt: skip
            return
        app.call_from_thread(self._show, groups, detail)

    def _show(self, groups: list[Any], detail: Any = None) -> None:
        if not self.is_mounted:
            return
        if detail is not None:
            self.detail = detail
        now = oncall(self).session.clock.now()
        rows = [self._cells(g, now) for g in groups]
        shown = tuple(
            (g.id, tuple(str(c) for c in cells)) for g, cells in zip(groups, rows, strict=True)
        )
        self.groups = groups
        if shown != self._shown:
            self._shown = shown
            t = self.query_one("#alerts-table", DataTable)
            keep = self.selected_id()
            t.clear()
            for g, cells in zip(groups, rows, strict=True):
                t.add_row(*cells, key=g.id)
            ids = [g.id for g in groups]
            if ids:
                t.move_cursor(row=ids.index(keep) if keep in ids else 0)
        inbox = sum(1 for g in groups if g.state == "inbox")
        which = "every group" if self.show_all else f"{inbox} in the inbox"
        self.query_one("#alerts-table").border_title = f"Alert groups ({which})"
        self.update_detail()

    @staticmethod
    def _cells(g: Any, now) -> tuple:
        firing, total = len(g.firing), len(g.alerts)
        r = g.row
        if firing:
            count = Text(f"{firing}/{total}", style="bold red")
        else:
            count = Text(f"✓ 0/{total}", style="green")  # every alert resolved
        incident = g.incident or ""  # its status is in the detail pane
        return (
            Text(g.state, style=STATE_STYLE.get(g.state, "dim")),
            fmt.sev_text(r["severity"]),
            Text(_clean(g.title)),
            Text(_clean(r["service"] or "–")),
            count,
            fmt.since(r["first_seen"], now),
            incident,
        )

    def selected_id(self) -> str | None:
        t = self.query_one("#alerts-table", DataTable)
        if not t.row_count:
            return None
        try:
            return t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        except Exception:
            return None

    def selected(self) -> Any | None:
        gid = self.selected_id()
        return next((g for g in self.groups or () if g.id == gid), None)

    @on(DataTable.RowSelected, "#alerts-table")
    def _selected(self) -> None:  # enter on a row: the table takes the key before the screen
        self.action_open()

    @on(DataTable.RowHighlighted, "#alerts-table")
    def _highlighted(self) -> None:
        self._want = self.selected_id()
        self.update_detail()

    def update_detail(self) -> None:
        body = self.query_one("#alert-detail-body", Static)
        g = self.selected()
        if g is None:
            body.update(
                Text(
                    "No alert groups. Alertmanager posts to `mlops-oncall serve` "
                    "(docs/alerts.md); ctrl+f shows dismissed and ended groups too."
                    if self.groups is not None
                    else "Loading…",
                    style="dim",
                )
            )
            return
        if self.detail is None or self.detail.id != g.id:
            body.update(Text(f"{g.id}  {g.state}\nReading its alerts…", style="dim"))
            self.load_detail(g.id)
            return
        body.update(detail_text(self.detail, oncall(self).session.workspace.zone()))

    @work(thread=True, exclusive=True, group="alerts-detail")
    def load_detail(self, gid: str) -> None:
        app = oncall(self)
        try:
            view = app.session.alerts.get(gid)
        except Exception as exc:  # a group gone, a locked database: said in the pane
            app.call_from_thread(self._detail_failed, gid, f"{type(exc).__name__}: {exc}")
            return
        app.call_from_thread(self._got_detail, view)

    def _got_detail(self, view: Any) -> None:
        self.detail = view
        if self.is_mounted and self.selected_id() == view.id:
            self.update_detail()

    def _detail_failed(self, gid: str, why: str) -> None:
        if self.is_mounted and self.selected_id() == gid:
            self.query_one("#alert-detail-body", Static).update(Text(why, style="red"))

    # -- actions ---------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.notify("every group" if self.show_all else "the inbox and open incidents' groups")
        self.reload()

    def _undecided(self, what: str) -> Any | None:
        g = self.selected()
        if g is None:
            self.notify("No alert group selected", severity="warning")
            return None
        if g.state not in UNDECIDED:
            self.notify(
                f"{g.id} is already {g.state} ({g.incident}): nothing to {what}",
                severity="warning",
            )
            return None
        return g

    def action_open(self) -> None:
        g = self.selected()
        if g is not None and g.incident:
            oncall(self).open_incident(g.incident)
        elif g is not None:
            self.action_declare()

    def action_declare(self) -> None:
        g = self._undecided("declare")
        if g is not None:
            self._prepare_declaration(g.id)

    @work(thread=True, exclusive=True, group="alerts-declare")
    def _prepare_declaration(self, gid: str) -> None:
        app = oncall(self)
        try:
            decl = app.session.alerts.declaration(gid)
        except Exception as exc:
            app.call_from_thread(app.notify, str(exc), title="Could not declare", severity="error")
            return
        try:  # the budget the service's SLOs burned since the first alert (ui/slo_watch.py)
            budget = app.budget_lines(decl.detected_at, service=decl.service)
        except Exception:
            budget = []
        app.call_from_thread(self._show_declare, decl, budget)

    def _show_declare(self, decl, budget=()) -> None:
        from mlops_oncall.ui.modals import DeclareModal

        s = oncall(self).session
        self.app.push_screen(
            DeclareModal(decl, drill=False, zone=s.workspace.zone(), budget=list(budget)),
            lambda form: self._declared(decl.group, form),
        )

    def _declared(self, gid: str, form: dict | None) -> None:
        if not form:
            return
        s = oncall(self).session

        def declare():
            view = s.alerts.declare(
                gid,
                title=form["title"],
                severity=form["severity"],
                service=form["service"],
                runbook=form["runbook"] or "",
            )
            return s.incidents.get(view.incident)

        self._write("declare", declare, then=self._opened)

    def _opened(self, view) -> None:
        app = oncall(self)
        app.open_incident(view.id)
        if view.triage is not None:
            from mlops_oncall.ui.screens.triage import TriageScreen

            app.push_screen(TriageScreen(view.id))

    def action_attach(self) -> None:
        g = self._undecided("attach")
        if g is not None:
            self._pick_incident(g.id)

    @work(thread=True, exclusive=True, group="alerts-attach")
    def _pick_incident(self, gid: str) -> None:
        from mlops_oncall.formats.refs import public_id

        app = oncall(self)
        try:
            open_ = app.session.incidents.list(status="open", limit=50)
        except Exception as exc:
            app.call_from_thread(app.notify, str(exc), title="Could not attach", severity="error")
            return
        options = [
            (public_id(r.id), f"{public_id(r.id)}  {r.severity}  {r.status:<13} {_clean(r.title)}")
            for r in open_
            if not r.is_drill
        ]
        app.call_from_thread(self._show_pick, gid, options)

    def _show_pick(self, gid: str, options: list[tuple[str, str]]) -> None:
        from mlops_oncall.ui.modals import ChoiceModal

        if not options:
            self.notify("No open incident to attach to: d declares one", severity="warning")
            return
        s = oncall(self).session
        self.app.push_screen(
            ChoiceModal(
                f"Attach {gid} to an open incident",
                options,
                note="Its alerts, and later ones of the group, go on that incident's timeline.",
            ),
            lambda inc: inc and self._write("attach", s.alerts.attach, gid, inc, then=self._done),
        )

    def action_dismiss_group(self) -> None:
        g = self.selected()
        if g is None:
            return
        if g.state != "inbox":
            self.notify(f"{g.id} is {g.state}, not in the inbox", severity="warning")
            return
        s = oncall(self).session
        self._write("dismiss", s.alerts.dismiss, g.id, then=self._done)

    def action_silence(self) -> None:
        from mlops_oncall.ui.screens.alert_dialogs import SilenceModal

        g = self.selected()
        if g is None:
            return
        s = oncall(self).session
        self.app.push_screen(SilenceModal(g, s.alerts), self._silenced)

    def _silenced(self, done: dict | None) -> None:
        if not done:
            return
        where = f", recorded on {done['incident']}" if done.get("incident") else ""
        self.notify(
            f"silence {done['id']} on {done['group']} until {done['until']}{where}",
            title="Silenced in Alertmanager",
            timeout=15,
        )
        self.reload()

    def _done(self, view) -> None:
        what = f"{view.state} ({view.incident})" if view.incident else view.state
        self.notify(f"{view.id} {what}")
        self.reload()

    # -- writes off the UI loop ------------------------------------------------------------
    def _write(self, label: str, fn, *args, then=None) -> None:
        self._run_write(label, fn, args, then)

    @work(thread=True, group="alerts-write")
    def _run_write(self, label: str, fn, args, then) -> None:
        from mlops_oncall.ui.messages import DataChanged

        app = oncall(self)
        try:
            result = fn(*args)
        except Exception as exc:  # a refusal or a store error: one line, the inbox stays
            from mlops_oncall.formats.errors import IncidentError

            text = str(exc) if isinstance(exc, IncidentError) else f"{type(exc).__name__}: {exc}"
            app.call_from_thread(
                app.notify, app.session.redactor.text(text), title=f"Could not {label}",
                severity="error", timeout=15,
            )  # fmt: skip
            return
        app.post_message(DataChanged())
        if then is not None:
            app.call_from_thread(then, result)


def detail_text(g: Any, zone) -> Text:
    """The group, then each alert: status, name, since when, labels, summary, source."""
    r = g.row
    text = Text()
    text.append(f"{g.id}", style="bold")
    text.append(f"  {g.state}", style=STATE_STYLE.get(g.state, "dim"))
    if g.incident:
        text.append(f"  {g.incident} {g.incident_status or ''}", style="magenta")
    text.append("\n")
    route = r["route"] or "–"
    text.append(_clean(f"receiver {r['receiver']} · route {route}"), style="dim")
    if r["runbook"]:
        text.append(_clean(f" · runbook {r['runbook']}"), style="dim")
    text.append("\n")
    grouped = ", ".join(f"{k}={v}" for k, v in sorted(r["group_labels"].items()))
    if grouped:
        text.append(_clean(f"grouped by {grouped}\n"), style="dim")
    for sil in r["silences"]:
        text.append(_clean(f"silenced {sil['id']} until {sil['until']} by {sil['by']}\n"))
    for a in sorted(g.alerts, key=lambda a: (a["status"] != "firing", a["starts_at"])):
        text.append("\n")
        firing = a["status"] == "firing"
        text.append(
            "● firing  " if firing else "✓ resolved", style="bold red" if firing else "green"
        )
        text.append(_clean(f" {a['alertname'] or 'alert'}"), style="bold")
        text.append(f"  since {fmt.stamp(a['starts_at'], zone)}", style="dim")
        if not firing and a["ends_at"] is not None:
            text.append(f" · ended {fmt.stamp(a['ends_at'], zone)}", style="dim")
        text.append("\n")
        ann = a["annotations"]
        summary = ann.get("summary") or ann.get("description")
        if summary:
            text.append(_clean(f"  {summary}\n"))
        labels = {k: v for k, v in a["labels"].items() if k != "alertname"}
        if labels:
            joined = " ".join(f"{k}={v}" for k, v in sorted(labels.items()))
            text.append(_clean(f"  {joined}\n"), style="cyan")
        if a["generator_url"]:
            text.append(_clean(f"  {a['generator_url']}\n"), style="dim underline")
    text.rstrip()
    return text
