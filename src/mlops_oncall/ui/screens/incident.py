"""The incident screen: header, live timeline (newest last, following), note input, actions."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from mlops_oncall.incidents.lifecycle import in_time_order
from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.modals import ActionItemModal, ChoiceModal, ConfirmModal, RoleModal
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.checkstate import IncidentChecks
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.lean_table import LeanTable
from mlops_oncall.ui.widgets.outbox import OutboxBanner

FIRST_PAGE = 200  # events shown on open; a 50k-event incident opens as fast as a small one
PRESENCE_EVERY = 10.0  # seconds between heartbeats while open (others drop out after 30 s)
HEADER_SIDES = 18  # the header's icon (8) and clock space (10): the title is centred between
KIND_STYLE = {
    "declared": "bold magenta",
    "status_changed": "bold yellow",
    "severity_changed": "bold red",
    "milestone": "cyan",
    "note": "",
    "check_transition": "red",
    "check_run": "blue",
    "command_run": "blue",
    "decision": "bold green",
    "step_done": "green",
    "step_skipped": "yellow",
    "step_failed": "red",
    "runbook_attached": "bold cyan",
    "alert": "bold red",
    "inject": "magenta",
    "status_update": "bold green",
    "update_overdue": "bold red",
    "escalated": "bold red",
    "unacknowledged": "bold red",
    "notified": "dim",
}
STATUSES = ("investigating", "identified", "mitigated", "resolved", "closed", "declined")


def also_here(here: list, room: int) -> str:
    """The header's "also here: bob, carol" in at most ``room`` characters (else the count):
    the names that do not fit are counted ("+2")."""
    names = ["you (another terminal)" if h.you else h.actor for h in here]
    for shown in range(len(names), 0, -1):
        more = f" +{len(names) - shown}" if shown < len(names) else ""
        text = "also here: " + ", ".join(names[:shown]) + more
        if len(text) <= room:
            return text
    return f"+{len(names)} here"


def milestone_dialog(app, incident_id: str, row: dict, after=None):
    """The milestone correction dialog for an incident (from its screen and its postmortem)."""
    from mlops_oncall.incidents.dates import parse_when
    from mlops_oncall.incidents.lifecycle import MILESTONES
    from mlops_oncall.ui.modals import MilestoneModal

    s = app.session
    zone = s.workspace.zone()

    def submit(name: str, text: str):
        return s.incidents.milestone(incident_id, name, parse_when(text, zone, s.clock.now()))

    def done(view) -> None:
        if view and after is not None:
            after(view)

    app.push_screen(
        MilestoneModal(incident_id, {m: row.get(f"{m}_at") for m in MILESTONES}, submit, zone=zone),
        done,
    )


class IncidentScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="incident.back"),
        Binding("n", "note", "Note", id="incident.note"),
        Binding("a", "ack", "Ack", id="incident.ack"),
        Binding("m", "mitigate", "Mitigate", id="incident.mitigate"),
        Binding("R", "resolve", "Resolve", id="incident.resolve"),
        Binding("s", "status", "Status", id="incident.status"),
        Binding("v", "severity", "Severity", id="incident.severity"),
        Binding("o", "role", "Role", id="incident.role"),
        Binding("t", "triage", "Triage", id="incident.triage"),
        Binding("A", "add_action", "Action item", id="incident.add_action"),
        Binding("x", "action_done", "Item done", id="incident.action_done"),
        Binding("b", "runbooks", "Runbook", id="incident.runbooks", show=False),
        Binding("P", "postmortem", "Postmortem", id="incident.postmortem"),
        Binding("M", "milestones", "Milestones", id="incident.milestones", show=False),
        Binding("u", "update", "Update", id="incident.update"),
    ]

    def __init__(self, incident_id: str):
        super().__init__()
        self.incident_id = incident_id
        self.view = None
        self.last_seq = 0
        self.alert_groups: list[tuple[str, int, int]] = []  # (ALG id, firing, alerts)
        self._deploys: list | None = None  # as last shown in the recent-deploys panel
        self._here: list = []  # who else has it open, as last read
        self._beaten = False  # a beat was recorded: leave when the screen closes
        self._left = False  # the screen has closed: a beat still on its way leaves after it
        self._cadence = None  # the status update cadence (notify/cadence.py), as last read

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        yield OutboxBanner()
        yield Static("Loading…", id="incident-header")
        with Horizontal(id="incident-body"):
            with Vertical(id="timeline-pane", classes="panel") as tp:
                tp.border_title = "Timeline"
                yield LeanTable(id="timeline", cursor_type="row")
                yield Input(
                    placeholder="Note: press n, type, Enter (recorded at once)", id="note-input"
                )
            with Vertical(id="incident-side"):
                yield IncidentChecks()  # the live state of the service's checks
                with Vertical(id="runbook-panel", classes="panel") as rp:
                    rp.border_title = "Runbook"
                    yield Static("", id="runbook-summary")
                with Vertical(id="actions-panel", classes="panel") as ap:
                    ap.border_title = "Action items"
                    yield LeanTable(id="actions", cursor_type="row")
                with Vertical(id="incident-deploys-panel", classes="panel") as dp:
                    dp.border_title = "Recent deploys of the service"
                    yield LeanTable(id="incident-deploys", cursor_type="row")
        yield LeanFooter()

    def on_mount(self) -> None:
        tl = self.query_one("#timeline", DataTable)
        tl.add_column("Time", key="time")
        tl.add_column("#", key="seq")
        tl.add_column("Who", key="actor")
        tl.add_column("Kind", key="kind")
        tl.add_column("What", key="text")
        acts = self.query_one("#actions", DataTable)
        for key in ("#", "Status", "Type", "Owner", "Due", "Item"):
            acts.add_column(key, key=key)
        deps = self.query_one("#incident-deploys", DataTable)
        for key in ("When", "Version", "Kind", "Outcome"):
            deps.add_column(key, key=key)
        tl.focus()
        self.load()
        # new events: the app calls poll() when the store's watcher reports this incident
        self.set_interval(1.0, self.render_header)
        # who else has it open: one upsert and one select per beat (store/presence.py)
        self.beat()
        self.set_interval(PRESENCE_EVERY, self.beat)

    # -- loading (thread) and applying (UI loop) ----------------------------------------------
    @work(thread=True, exclusive=True, group="incident-load")
    def load(self) -> None:
        s = oncall(self).session
        view = s.incidents.get(self.incident_id)
        events = s.incidents.latest(self.incident_id, FIRST_PAGE)
        deploys = s.deploys.list(service=view.row.service, limit=10) if view.row.service else []
        self.alert_groups = s.alerts.of_incident(self.incident_id)  # the header shows them
        self.app.call_from_thread(self._loaded, view, events, deploys)

    @work(thread=True, exclusive=True, group="incident-poll")
    def poll(self) -> None:
        """New events from any process (a second terminal's `incident note`): called when the
        store's watcher reports this incident, and after this screen records something."""
        s = oncall(self).session
        if self.view is None:
            return
        self._look(s)  # someone who just wrote has it open, most likely
        seq, _ = s.incidents.head(self.incident_id)
        if seq == self.last_seq:
            return
        events = s.incidents.events(self.incident_id, after_seq=self.last_seq)
        view = s.incidents.get(self.incident_id)
        if any(e.kind.startswith("alert") or e.kind == "note" for e in events):
            self.alert_groups = s.alerts.of_incident(self.incident_id)  # fired, resolved, attached
        self.app.call_from_thread(self._more, view, events)

    @work(thread=True, exclusive=True, group="incident-deploys")
    def poll_deploys(self) -> None:
        """A deploy recorded or marked rolled back meanwhile (no event on this timeline): the
        app calls it when the store's watcher reports a deploy written."""
        service = self.view.row.service if self.view is not None else None
        if service:
            deploys = oncall(self).session.deploys.list(service=service, limit=10)
            if deploys != self._deploys:
                self.app.call_from_thread(self._show_deploys, deploys)

    def _loaded(self, view, events, deploys) -> None:
        self.view = view
        tl = self.query_one("#timeline", DataTable)
        tl.clear()
        if events and events[0].seq > 1:
            tl.add_row(
                "",
                "",
                "",
                "",
                Text(
                    f"… {events[0].seq - 1} earlier events (incident timeline {view.id})",
                    style="dim",
                ),
            )
        self._append(events)
        self._show_deploys(deploys)
        self._show_view()

    def _show_deploys(self, deploys) -> None:
        self._deploys = deploys
        zone = oncall(self).session.workspace.zone()
        deps = self.query_one("#incident-deploys", DataTable)
        deps.clear()
        for d in deploys:
            style = {"failed": "red", "rolled_back": "yellow"}.get(d.outcome, "green")
            deps.add_row(
                fmt.stamp(d.at, zone)[5:16],
                fmt.deploy_version(d.version, d.notes),
                d.kind,
                Text(d.outcome, style=style),
            )

    def _more(self, view, events) -> None:
        self.view = view
        self._append(events)
        self._show_view()

    def _append(self, events) -> None:
        tl = self.query_one("#timeline", DataTable)
        zone = oncall(self).session.workspace.zone()
        following = tl.row_count == 0 or tl.cursor_row >= tl.row_count - 1
        for e in events:
            if e.seq <= self.last_seq:
                continue
            tl.add_row(
                fmt.clock_time(e.ts, zone),
                str(e.seq),
                e.actor,
                Text(e.kind, style=KIND_STYLE.get(e.kind, "")),
                e.text,
                key=str(e.seq),
            )
            self.last_seq = e.seq
        if following and tl.row_count:
            tl.move_cursor(row=tl.row_count - 1)

    def _show_view(self) -> None:
        v = self.view
        self.check_updates()
        self.render_header()
        self.query_one(IncidentChecks).refresh_state()
        runbook = Text()
        if v.triage is None:
            runbook.append("No runbook attached. Press b to pick one.", style="dim")
        else:
            t = v.triage
            num, total = t.position()
            runbook.append(f"{t.runbook.id}\n", style="bold cyan")
            runbook.append(t.runbook.title + "\n")
            if t.complete:
                runbook.append("complete\n", style="green")
            else:
                runbook.append(f"step {num} of {total}: {t.current}\n")
            c = t.counts()
            runbook.append(
                f"{c['done']} done · {c['skipped']} skipped · {c['failed']} failed · {c['decided']} decided\n",
                style="dim",
            )
            runbook.append("Press t to work it.", style="dim")
        self.query_one("#runbook-summary", Static).update(runbook)
        acts = self.query_one("#actions", DataTable)
        acts.clear()
        for a in v.actions:
            style = "green" if a.status == "done" else ""
            acts.add_row(
                str(a.number),
                Text(a.status, style=style),
                a.type,
                a.owner,
                str(a.due or ""),
                a.text,
                key=str(a.number),
            )

    def render_header(self) -> None:
        v = self.view
        if v is None:
            return
        s = oncall(self).session
        r = v.row
        zone = s.workspace.zone()
        now = s.clock.now()
        t = Text()
        t.append(f"{v.id} ", style="bold")
        t.append_text(fmt.sev_text(r.severity))
        t.append("  ")
        t.append_text(fmt.status_text(r.status))
        if r.is_drill:
            t.append("  DRILL", style="bold black on yellow")
        t.append(f"  {r.title}", style="bold")
        if r.service:
            t.append(f"  ({r.service})", style="dim")
        end = r.resolved_at or now
        t.append(f"\nElapsed {fmt.since(r.declared_at, end)}", style="")
        roles = ", ".join(f"{k} {w}" for k, w in sorted(v.roles.items())) or "no roles assigned (o)"
        t.append(f"   Roles: {roles}", style="dim")
        for gid, firing, n in self.alert_groups:  # Alertmanager's groups on this incident
            t.append(f"   {gid} ", style="dim")
            style = "bold red" if firing else "green"
            t.append(f"{firing}/{n} firing" if firing else f"✓ 0/{n} firing", style=style)
        self._render_cadence(t, now)
        t.append("\n")
        for m in in_time_order(r):  # as they happened; unset ones last
            at = getattr(r, f"{m}_at")
            if at is None and m == "impact_started":  # only a person knows it; TTD needs it
                t.append(f"{m} – (M sets it)  ", style="dim")
            elif at is None:
                t.append(f"{m} –  ", style="dim")
            else:
                t.append(f"{m} {fmt.clock_time(at, zone)}  ", style="")
        self.query_one("#incident-header", Static).update(t)

    # -- status updates: when the next one is due ----------------------------------------------
    @work(thread=True, exclusive=True, group="incident-updates")
    def check_updates(self) -> None:
        """Read the cadence, and record update_overdue once per overdue period (whichever
        process notices first; the core checks under the incident's lock)."""
        from mlops_oncall.store.errors import StoreError

        notify = oncall(self).session.notify
        try:
            row = oncall(self).session.incidents.get(self.incident_id).row
            if notify.note_overdue(row) is not None:
                self.app.call_from_thread(self.poll)
            cadence = notify.cadence(row)
        except StoreError as exc:
            if not exc.unreachable:
                raise
            return  # the outbox banner says so; the next header render asks again
        self.app.call_from_thread(self._got_cadence, cadence)

    def _got_cadence(self, cadence) -> None:
        self._cadence = cadence
        self.render_header()

    def _render_cadence(self, t: Text, now) -> None:
        c = self._cadence
        if c is None or c.due is None:
            return
        if now > (c.due + c.every if c.overdue else c.due):
            self._cadence = None  # it became overdue, or a new period began: read it again
            self.check_updates()
            return
        line = c.line(now).capitalize()
        if c.overdue:
            t.append(f"   {line} (u)", style="bold red")
        else:
            t.append(f"   {line}", style="dim")

    def action_update(self) -> None:
        from mlops_oncall.ui.screens.update_dialog import UpdateModal

        def done(posted) -> None:
            if posted:
                d = posted.delivery
                where = f" to {d.destination}" if d is not None else ""
                self.app.notify(f"Update #{posted.event.seq} sent{where}")
                self.poll()

        self.app.push_screen(UpdateModal(self.incident_id, oncall(self).session.notify), done)

    # -- presence: who else has this incident open ---------------------------------------------
    @work(thread=True, exclusive=True, group="incident-presence")
    def beat(self) -> None:
        s = oncall(self).session
        try:
            s.presence.beat(self.incident_id)
            self._beaten = True
            if self._left:  # closed while this beat was on its way: leave after it, not before
                s.presence.leave(self.incident_id)
                return
        except Exception:  # best effort: the screen's reads say when the database is gone
            return
        self._look(s)

    def _look(self, s) -> None:
        """On a worker: read the others and show them."""
        try:
            here = s.presence.others(self.incident_id)
        except Exception:  # as for the beat
            return
        self.app.call_from_thread(self._show_presence, here)

    def _show_presence(self, here: list) -> None:
        self._here = here
        if not here:
            self.sub_title = None  # the app's: the workspace and who you are
            return
        room = self.app.size.width - HEADER_SIDES - len(f"{self.app.title} —  · ")
        base = self.app.sub_title  # "workspace · you: name"
        shown = also_here(here, room - len(base))
        if not shown.startswith("also"):  # narrow: who you are, without the workspace's name
            base = base.rpartition(" · ")[2]
            shown = also_here(here, room - len(base))
        self.sub_title = f"{base} · {shown}"

    def on_unmount(self) -> None:
        self._left = True
        if self._beaten:  # off the UI loop; the app's worker outlives this screen
            self.app.run_worker(
                partial(oncall(self).session.presence.leave, self.incident_id),
                thread=True,
                group="presence-leave",
                exit_on_error=False,
            )

    # -- actions (each runs the core call in a thread, then refreshes) ------------------------
    def _do(self, label: str, fn, *args, **kwargs) -> None:
        oncall(self).run_core(label, fn, *args, after=self.poll, **kwargs)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_note(self) -> None:
        self.query_one("#note-input", Input).focus()

    @on(Input.Submitted, "#note-input")
    def _note(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        event.input.value = ""
        self._do("note", oncall(self).session.incidents.note, self.incident_id, text)
        self.query_one("#timeline").focus()

    def action_ack(self) -> None:
        self._do("acknowledge", oncall(self).session.incidents.ack, self.incident_id)

    def action_mitigate(self) -> None:
        self.finish("mitigated")

    def action_resolve(self) -> None:
        self.finish("resolved")

    # -- mitigate and resolve: one question when something is unfinished -----------------------
    def finish(self, status: str) -> None:
        """Mitigate or resolve; first, on a thread, ask the core what is unfinished.

        A move the incident cannot make is refused before anything is asked: the question
        about unfinished work used to come first, and the answer then met the refusal."""
        from mlops_oncall.incidents.lifecycle import MOVES

        current = self.view.row.status if self.view else None
        if current is not None and status not in MOVES.get(current, ()):
            verb = {"mitigated": "mitigate", "resolved": "resolve"}[status]
            if current == "triage":
                hint = f"acknowledge it first (a), then {verb}"
            else:
                allowed = ", ".join(MOVES.get(current, ())) or "nothing"
                hint = f"from {current} it can move to: {allowed}"
            self.notify(
                f"{self.incident_id} is {current}: {hint}",
                title=f"Cannot {verb} yet",
                severity="warning",
            )
            return
        self._unfinished(status, self._live_checks())

    def _live_checks(self) -> dict | None:
        """Each check's state as the dashboard shows it now; None without a poller (the core
        then reads the states the recorded threshold crossings left)."""
        from mlops_oncall.incidents.unfinished import CheckState

        app = self.app
        views = getattr(app, "views", None)
        if not views:
            return None
        specs = getattr(app, "specs", {})
        out = {}
        for cid, v in views.items():
            spec = specs.get(cid)
            service = getattr(spec, "service", None) or (v.last.service if v.last else None)
            out[cid] = CheckState(v.state, service, tuple(v.blocked_by or ()))
        return out

    @work(thread=True, group="incident-unfinished")
    def _unfinished(self, status: str, checks: dict | None) -> None:
        s = oncall(self).session
        try:
            items = s.incidents.unfinished(self.incident_id, checks)
        except Exception as exc:  # a locked database: say so, change nothing
            self.app.call_from_thread(
                self.notify, str(exc), title=f"Could not check {self.incident_id}", severity="error"
            )
            return
        self.app.call_from_thread(self._ask_unfinished, status, items)

    def _ask_unfinished(self, status: str, items: list) -> None:
        from mlops_oncall.incidents.unfinished import despite_note
        from mlops_oncall.ui.modals import ConfirmModal

        verb = {"mitigated": "mitigate", "resolved": "resolve"}[status]
        set_status = oncall(self).session.incidents.set_status
        if not items:
            self._do(verb, set_status, self.incident_id, status)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._do(verb, set_status, self.incident_id, status, note=despite_note(items))

        n = len(items)
        self.app.push_screen(
            ConfirmModal(
                f"{verb.capitalize()} {self.incident_id} with {n} thing{'s' * (n != 1)} "
                "unfinished?",
                [f"• {i.text}" for i in items]
                + ["", "If you go ahead, the timeline records that you did despite these."],
                f"{verb.capitalize()} anyway",
            ),
            answer,
        )

    def action_status(self) -> None:
        from mlops_oncall.incidents.lifecycle import MOVES

        current = self.view.row.status if self.view else "triage"
        allowed = MOVES.get(current, ())
        if not allowed:
            self.notify(f"{self.incident_id} is {current}; no further moves", severity="warning")
            return

        def done(status: str | None) -> None:
            if status in ("mitigated", "resolved"):
                self.finish(status)
            elif status:
                self._do(
                    f"set the status to {status}",
                    oncall(self).session.incidents.set_status,
                    self.incident_id,
                    status,
                )

        self.app.push_screen(
            ChoiceModal(f"Move {self.incident_id} from {current} to", [(s, s) for s in allowed]),
            done,
        )

    def action_severity(self) -> None:
        from mlops_oncall.ui.modals import ConfirmModal, SeverityModal

        if self.view is None:
            return
        current = self.view.row.severity
        meanings = oncall(self).session.workspace.severities()

        def record(sev: str) -> None:
            self._do(
                f"set the severity to {sev}",
                oncall(self).session.incidents.set_severity,
                self.incident_id,
                sev,
            )

        def confirmed(sev: str, yes: bool | None) -> None:
            if yes:
                record(sev)

        def picked(sev: str | None) -> None:
            if not sev or sev == current:
                return
            if sev > current:  # SEV1 < SEV2 < ...: a larger number is a downgrade
                self.app.push_screen(
                    ConfirmModal(
                        f"Downgrade {self.incident_id} from {current} to {sev}?",
                        [f"{current}: {meanings.get(current, '')}", f"{sev}: {meanings[sev]}"],
                        f"Downgrade to {sev}",
                    ),
                    lambda yes: confirmed(sev, yes),
                )
                return
            record(sev)

        self.app.push_screen(
            SeverityModal(current, meanings, title=f"Severity of {self.incident_id}"), picked
        )

    def action_role(self) -> None:
        from mlops_oncall.incidents.service import RoleHeld

        svc = oncall(self).session.incidents

        def take_over(role: str, who: str, yes: bool | None) -> None:
            if yes:
                self._do(
                    f"take over {role}", svc.assign, self.incident_id, role, who, take_over=True
                )

        def claim(role: str, who: str):
            # on the core's worker: a role someone else holds (maybe taken a moment ago in
            # another terminal) is named, and taken over only when the responder says so
            try:
                return svc.assign(self.incident_id, role, who)
            except RoleHeld as exc:
                ask = ConfirmModal(
                    exc.held,
                    [f"Taking it over records that {who} took {role} from {exc.holder}."],
                    f"Take over {role}",
                )
                self.app.call_from_thread(
                    self.app.push_screen, ask, lambda yes: take_over(role, who, yes)
                )
                return None

        def done(result) -> None:
            if result:
                role, who = result
                self._do(f"assign {role}", claim, role, who)

        self.app.push_screen(RoleModal(self.view.roles if self.view else {}), done)

    def action_add_action(self) -> None:
        from mlops_oncall.incidents.dates import local_day

        s = oncall(self).session
        zone = s.workspace.zone()
        declared = self.view.row.declared_at if self.view else None

        def done(result) -> None:
            if not result:
                return
            self._do(
                "add action item",
                s.incidents.action_add,
                self.incident_id,
                result["text"],
                type=result["type"],
                owner=result["owner"],
                due=result["due"],
            )

        self.app.push_screen(
            ActionItemModal(
                today=local_day(s.clock.now(), zone),
                incident_day=local_day(declared, zone) if declared else None,
            ),
            done,
        )

    def action_action_done(self) -> None:
        acts = self.query_one("#actions", DataTable)
        if not acts.row_count:
            self.notify("No action items yet (A adds one)")
            return
        if not acts.has_focus:  # x used to mark the top item done, unseen and unasked
            acts.focus()
            self.notify("Pick the action item with ↑/↓, then press x")
            return
        number = int(acts.coordinate_to_cell_key(acts.cursor_coordinate).row_key.value)
        item = next((a for a in self.view.actions if a.number == number), None)
        if item is None:
            return
        if item.status == "done":
            self.notify(f"Action item {number} is already done")
            return

        def confirmed(yes: bool) -> None:
            if yes:
                self._do(
                    f"mark action item {number} done",
                    oncall(self).session.incidents.action_done,
                    self.incident_id,
                    number,
                )

        self.app.push_screen(
            ConfirmModal(f"Mark action item {number} done?", [item.text], "Mark done"),
            confirmed,
        )

    def action_triage(self) -> None:
        if self.view is None or self.view.triage is None:
            self.action_runbooks()
            return
        from mlops_oncall.ui.screens.triage import TriageScreen

        self.app.push_screen(TriageScreen(self.incident_id))

    def action_milestones(self) -> None:
        if self.view is not None:
            milestone_dialog(
                self.app, self.incident_id, self.view.row.model_dump(), lambda _v: self.poll()
            )

    def action_postmortem(self) -> None:
        oncall(self).open_postmortem(self.incident_id)

    def action_runbooks(self) -> None:
        from mlops_oncall.ui.screens.runbooks import RunbooksScreen

        service = self.view.row.service if self.view else None
        self.app.push_screen(RunbooksScreen(attach_to=self.incident_id, service=service))

    @on(DataTable.RowSelected, "#timeline")
    def _open_entry(self, event: DataTable.RowSelected) -> None:
        """Enter on a timeline row: the whole entry, where the row cuts it short."""
        from mlops_oncall.ui.timeline_entry import TimelineEntryModal

        seq = str(event.row_key.value or "")
        if seq.isdigit():  # not the "… earlier events" line
            self.app.push_screen(TimelineEntryModal(self.incident_id, int(seq)))
