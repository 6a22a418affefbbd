"""The Textual app: screens, the command palette, and the glue to the core.

The app holds no domain logic. It keeps the latest check views (from the monitor thread),
and runs every core call (declare, note, step, ...) on a thread worker so a keystroke never
waits on the database; errors from the core come back as notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding

from mlops_oncall.boottrace import mark
from mlops_oncall.formats.vocabulary import FAILING
from mlops_oncall.ui.commands import OncallCommands
from mlops_oncall.ui.messages import (
    AlertsChanged,
    ChecksUpdated,
    DataChanged,
    DeploysChanged,
    DrillEnded,
    IncidentsChanged,
    StoryEvent,
)
from mlops_oncall.ui.slo_watch import SloWatch
from mlops_oncall.ui.widgets.refused import RefusedBanner

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from mlops_oncall.session import Session


def _missing(path) -> Any:
    from mlops_oncall.formats.problems import Problem

    return Problem(str(path), 1, 1, "", "error", "the checks file is gone")


class _ContextExecutor(ThreadPoolExecutor):
    """Runs each job in a copy of the submitter's context (so Textual's active app)."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


class OncallApp(SloWatch, App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "mlops-oncall"
    COMMANDS = App.COMMANDS | {OncallCommands}
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("r", "runbooks", "Runbooks", id="app.runbooks"),
        Binding("g", "risks", "Risks", id="app.risks"),
        Binding("h", "incidents", "History", id="app.incidents"),
        Binding("f", "inject_fault", "Inject fault", id="app.inject_fault"),
        Binding("ctrl+r", "refused_runbooks", "Refused runbooks", id="app.refused_runbooks"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]
    # classes set on every screen as the terminal is resized: the stylesheet stacks or hides
    # side panels below 100 columns and shrinks fixed-height panels below 32 rows (80x24 works)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    def __init__(
        self,
        session: Session | None = None,
        *,
        live: bool = True,
        story: Any = None,
        drill_banner: str | None = None,
        flush_every: float = 0.25,
        prepare=None,
        after_store=None,
        setup=None,
        title: str | None = None,
        fake_system: bool = False,
        watch_every: float | None = 2.0,
    ):
        super().__init__()
        # with ``setup``, the session is built in the boot worker after the first frame (the
        # demo: its config, pydantic and the fake system all load off the first-frame path)
        self.session = session
        self.setup = setup
        self.header_title = title
        # the demo starts a fake system in its boot worker: its "Inject fault" key is shown from
        # the first frame rather than added later (which rebuilt the footer mid-boot)
        self.fake_system = fake_system
        self.prepare = prepare  # runs first in the boot worker, after the first frame
        self.after_store = after_store  # runs once the store is open
        self.live = live
        self.story = story
        self.drill_banner_text = drill_banner
        self.flush_every = flush_every
        self.views: dict[str, Any] = {}
        # set once every check's first state is on screen: the boot worker opens the store
        # (importing SQLAlchemy, GIL-bound) only then, not while the UI draws the first round
        self._all_shown = threading.Event()
        self.specs: dict[str, Any] = {}
        # the checks file as last read: entries refused by a lenient load (shown as rows in a
        # "config error" state), and the problems of a file refused as a whole (None: read fine)
        self.refused_checks: list[Any] = []
        self.checks_error: list[Any] | None = None
        self.checks_loaded = False
        self.watch_every = watch_every  # seconds between looks at checks.yaml and runbooks
        self.watcher = None
        self.live_changes = None  # the store's watcher (store/live.py), once the store is open
        # a team database gone (when it went) and the outbox banner's line (ui/widgets/outbox)
        self.database_down_since = None
        self.outbox_banner_text: str | None = None
        self._monitor_lock = threading.Lock()
        self.monitor = None
        self.ready = False
        self.open_incidents: list[dict[str, Any]] = []
        self._suggest_cache: dict[tuple, list] = {}
        keymap = getattr(session.workspace.config, "keymap", None) if session else None
        if keymap:
            self.set_keymap(dict(keymap))

    # -- start and stop ----------------------------------------------------------------------
    def get_default_screen(self):
        """The dashboard is the base screen: pushed over Textual's blank default one, the first
        frame was rendered twice (about 30 ms)."""
        from mlops_oncall.ui.screens.dashboard import DashboardScreen

        return DashboardScreen()

    def on_mount(self) -> None:
        # Textual runs thread workers with loop.run_in_executor, which does not carry context
        # variables: a worker whose screen was popped meanwhile (esc right after ctrl+e) could
        # not find the app through `self.app` and ended it with NoActiveAppError
        asyncio.get_running_loop().set_default_executor(_ContextExecutor())
        self.show_identity()
        mark("mounted")
        # after the first frame is on screen: the boot worker's imports hold the GIL
        self.call_after_refresh(self._first_frame)

    def show_identity(self) -> None:
        """The header: the workspace and who you are, so nobody acts as root unawares."""
        name = self.header_title or (self.session.name if self.session else "")
        if self.session is None:
            self.sub_title = name
            return
        ws = self.session.workspace
        self.sub_title = f"{name} · {ws.actor_warning() or f'you: {self.session.actor}'}"

    def _first_frame(self) -> None:
        mark("first frame")
        self.boot()

    @work(thread=True, exclusive=True, group="boot")
    def boot(self) -> None:
        """After the first frame: the checks first (so polling starts at once), then the store
        and the runbooks, which cost most of the imports."""
        mark("boot start")
        if self.live:  # the probe transport's imports, beside the session's and the checks'
            from mlops_oncall.checks import warmup

            warmup.start()
        try:
            if self.setup is not None:
                self.session, self.story, self.prepare, self.after_store = self.setup()
                self.call_from_thread(self.show_identity)
                mark("setup")
            s = self.session
            if self.prepare is not None:
                self.prepare()  # the demo: start the fake system, write its checks
                mark("prepared")
            checks = s.checks
            mark("checks loaded")
            self.call_from_thread(self._checks_loaded, checks, s.check_problems)
            if checks is not None and self.live and len(checks):
                self._start_monitor(checks)
                mark("polling")
                self.monitor.wait_first_round(timeout=3.0)
                mark("first round")
                self._all_shown.wait(timeout=1.0)
            s.incidents  # noqa: B018 - opens (and migrates) the store
            mark("store open")
            if self.after_store is not None:
                self.after_store()  # the demo: seed its history
            if self.monitor is not None:
                self.monitor.store = s.store  # from now on transitions and roll-ups are kept
            s.library  # noqa: B018
            mark("library loaded")
            s.note_unknown_runbooks()
            self._start_watching()
            self._start_live()
        except Exception as exc:
            self.call_from_thread(
                self.notify, f"could not start: {exc}", severity="error", timeout=30
            )
            return
        self.call_from_thread(self._booted)
        if self.story is not None:
            if hasattr(self.story, "on_end"):  # a drill: its end takes the banner down
                self.story.on_end = lambda text: self.post_message(DrillEnded(text))
            self.story.start(
                lambda text, sev="information": self.post_message(StoryEvent(text, sev))
            )

    def _start_monitor(self, checks) -> None:
        from mlops_oncall.checks.monitor import Monitor

        s = self.session
        self.monitor = Monitor(
            checks,
            clock=s.clock,
            on_update=lambda views, transitions: self.post_message(
                ChecksUpdated(views, transitions)
            ),
            flush_every=self.flush_every,
        ).start()

    # -- the checks file and the runbooks, watched while the app runs ----------------------------
    def _start_watching(self) -> None:
        if self.watch_every is None or not self.session.has_workspace:
            return
        from mlops_oncall.watch import FileWatcher

        self.watcher = FileWatcher(
            self.session.watched_files(), self._files_changed, every=self.watch_every
        ).start()

    def _start_live(self) -> None:
        """Screens re-read an incident when the store's watcher reports it (another terminal's
        append, or this one's), instead of each polling its head every second."""
        self.live_changes = self.session.watch(
            lambda ids: self.post_message(IncidentsChanged(ids)),
            on_deploys=lambda: self.post_message(DeploysChanged()),
            on_alerts=lambda: self.post_message(AlertsChanged()),
            on_status=lambda _words: self._outbox_from_thread(),
        ).start()
        self._outbox_from_thread()  # what a command queued before this app started

    def _outbox_from_thread(self) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.call_from_thread(self.sync_outbox)

    # -- a team database that cannot be reached: the outbox (incidents/outbox.py) -------------
    @work(thread=True, group="outbox")
    def sync_outbox(self) -> None:
        """Off the UI loop: note whether the database is reachable (the watcher's word);
        when it is, deliver what the outbox holds, in order; then show the banner."""
        from mlops_oncall.ui.widgets.outbox import outbox_banner_text

        s = self.session
        writes = s.outbox
        if writes is None:
            return
        watcher = self.live_changes
        if watcher is not None and not watcher.reachable:
            self.database_down_since = self.database_down_since or s.clock.now()
        elif watcher is not None:
            self.database_down_since = None
        delivery = None
        if self.database_down_since is None and writes.counts()["pending"]:
            delivery = writes.deliver()
        text = outbox_banner_text(
            self.database_down_since,
            writes.counts(),
            writes.box.oldest_pending(),
            s.workspace.zone(),
        )
        self.call_from_thread(self._show_outbox, text, delivery)

    def _show_outbox(self, text: str | None, delivery=None) -> None:
        from mlops_oncall.ui.widgets.outbox import OutboxBanner

        self.outbox_banner_text = text
        for screen in self.screen_stack:
            for banner in screen.query(OutboxBanner):
                banner.show(self)
        if delivery is None:
            return
        if delivery.delivered:
            n = len(delivery.delivered)
            self.notify(f"delivered {n} queued write{'s' * (n != 1)} from the local outbox")
            self.post_message(DataChanged())
        for entry, reason in delivery.refused:
            self.notify(
                reason,
                title=f"Could not deliver the queued {entry.op.replace('_', ' ')}",
                severity="error",
                timeout=30,
            )

    def _queued(self, fn, args, kwargs) -> bool:
        """A write that found the team database unreachable: into the outbox, if it is one
        the outbox holds (on the worker's thread)."""
        from mlops_oncall.incidents.outbox import QUEUED_LINE

        writes = self.session.outbox
        if writes is None or writes.capture_call(fn, args, kwargs) is None:
            return False
        self.database_down_since = self.database_down_since or self.session.clock.now()
        pending = writes.counts()["pending"]
        self.call_from_thread(self.notify, QUEUED_LINE.format(pending=pending), timeout=10)
        self._outbox_from_thread()
        return True

    def on_incidents_changed(self, message: IncidentsChanged) -> None:
        from mlops_oncall.formats.refs import parse_ref
        from mlops_oncall.ui.screens.incident import IncidentScreen
        from mlops_oncall.ui.screens.triage import TriageScreen

        for screen in self.screen_stack:
            shows_one = isinstance(screen, IncidentScreen | TriageScreen)
            if shows_one and parse_ref(screen.incident_id) in message.ids:
                screen.poll()
        dash = self._dashboard()
        if dash is not None:
            dash.refresh_lists()
        self._reload_alerts(inbox=False)  # a group's incident moved (resolved: it leaves)

    def on_alerts_changed(self, _message: AlertsChanged) -> None:
        """An alert group arrived or was decided: the inbox and the dashboard's line re-read."""
        self._reload_alerts(inbox=True)

    def _reload_alerts(self, *, inbox: bool) -> None:
        from mlops_oncall.ui.screens.alerts import AlertsScreen
        from mlops_oncall.ui.widgets.inbox import InboxBanner

        for screen in self.screen_stack:
            if isinstance(screen, AlertsScreen):
                screen.reload()
            if inbox:
                for banner in screen.query(InboxBanner):
                    banner.refresh_inbox()

    def on_deploys_changed(self, _message: DeploysChanged) -> None:
        """Deploys are re-read only when one is written (the watcher says so), not on timers."""
        from mlops_oncall.ui.screens.incident import IncidentScreen

        for screen in self.screen_stack:
            if isinstance(screen, IncidentScreen):
                screen.poll_deploys()
        dash = self._dashboard()
        if dash is not None:
            dash.refresh_lists()

    def _files_changed(self, groups: set[str]) -> None:
        """On the watcher's thread: read what changed, then apply it on the UI loop."""
        s = self.session
        if "checks" in groups:
            checks, problems = s.load_checks()
            if checks is not None:
                s.use_checks(checks, problems)
                with self._monitor_lock:
                    if self.monitor is not None:
                        self.monitor.replace(checks)
                    elif self.live and len(checks):
                        self._start_monitor(checks)
                        if self.ready:
                            self.monitor.store = s.store
            elif not problems and s.checks_path is not None:  # the file is gone
                problems = [_missing(s.checks_path)]
            self._call(self._checks_loaded, checks, problems, True)
        if "runbooks" in groups:
            s.reload_library()
            self._call(self._library_reloaded)
        if "slos" in groups:
            s.reload_slos()
            self._call(self.slos_changed)

    def _call(self, fn, *args) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.call_from_thread(fn, *args)

    def _library_reloaded(self) -> None:
        self._suggest_cache.clear()
        for screen in self.screen_stack:
            for banner in screen.query(RefusedBanner):
                banner.load()
        self.refresh_bindings()
        dash = self._dashboard()
        if dash is not None:
            dash.update_detail()

    def _checks_loaded(self, checks, problems=(), reloaded: bool = False) -> None:
        """A read of the checks file: at boot, or a reload (then a file refused as a whole
        keeps the checks polled so far, and says so)."""
        self.checks_loaded = True
        if checks is None and (problems or not reloaded):
            self.checks_error = [p for p in problems if p.is_error] or None
            if not reloaded:
                self.specs = {}
        else:
            self.checks_error = None
            self.specs = dict(checks.specs) if checks is not None else {}
            self.refused_checks = list(checks.refused) if checks is not None else []
            self.views = {k: v for k, v in self.views.items() if k in self.specs}
            self._suggest_cache.clear()
        self.refresh_bindings()  # a drill's fake system may be up now (the footer redraws if so)
        dash = self._dashboard()
        if dash is not None:
            dash.build_checks()

    def _booted(self) -> None:
        self.ready = True
        # errors stay on screen (the checks banner, the rows, the detail panel); a warning
        # refuses nothing, so a toast is enough
        for problem in [p for p in self.session.check_problems if not p.is_error][:3]:
            self.notify(str(problem), severity="warning", timeout=15)
        dash = self._dashboard()
        if dash is not None:
            if not self.specs:  # the empty state may depend on the store (no workspace)
                dash.build_checks()
            dash.update_detail()
            dash.refresh_lists()
            dash.query_one(RefusedBanner).load()
        self.post_message(AlertsChanged())  # the inbox's line on the dashboard
        self.start_slos()  # the SLO panel and alarm, only with a slos.yaml (ui/slo_watch.py)
        self.refresh_bindings()  # ctrl+r, if some runbooks were refused

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.live_changes is not None:
            self.live_changes.stop()
        if self.story is not None:
            self.story.stop()
        if self.monitor is not None:
            self.monitor.stop()

    def _dashboard(self):
        from mlops_oncall.ui.screens.dashboard import DashboardScreen

        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    # -- check updates (from the monitor thread, as messages) ------------------------------------
    def on_checks_updated(self, message: ChecksUpdated) -> None:
        self.apply_views(message.views, message.transitions)

    def apply_views(self, views, transitions=()) -> None:
        """Take new check views; tests call this directly to show fixed states."""
        for v in views:
            self.views[v.check_id] = v
        if transitions and self.ready and not self.session.drill_id:
            self._link_transitions(list(transitions))
        alarms = [t for t in transitions if t.alarm]
        if alarms:
            self._notify_alarms(alarms)
        recovered = [
            t.check_id for t in transitions if t.to_state == "up" and t.from_state in FAILING
        ]
        if recovered:
            self.notify(f"{', '.join(recovered)} recovered", severity="information", timeout=6)
        dash = self._dashboard()
        if dash is not None and views:
            dash.update_checks([v.check_id for v in views])
            if len(self.views) == len(self.specs) and not self._all_shown.is_set():
                self.call_after_refresh(self._shown_all)

    def _notify_alarms(self, alarms) -> None:
        """One toast per round of alarms, not one per check: a model server going down takes
        its live, ready and model checks with it, and three toasts covered half of an 80x24
        screen (and the Declare dialog opened from it)."""
        first = alarms[0]
        best = self.suggestions_for(first.check_id)
        hint = f" Suggested runbook: {best[0].runbook_id}." if best else ""
        open_inc = self.open_incident_for(first.check_id)
        what = f" {open_inc['id']} open." if open_inc else " Press d to declare."
        if len(alarms) == 1:
            text = f"{first.check_id} is {first.to_state.upper()}: {first.message}."
        else:
            states = ", ".join(f"{t.check_id} {t.to_state.upper()}" for t in alarms)
            text = f"{len(alarms)} checks failing: {states}."
        self.notify(
            text + hint + what,
            title="Check alarm",
            severity="error" if any(t.to_state == "down" for t in alarms) else "warning",
            timeout=12 if self.size.width >= 100 else 8,
        )

    @work(thread=True, group="check-links")
    def _link_transitions(self, transitions) -> None:
        """Each crossing lands on the timeline of the open incidents about its check."""
        from mlops_oncall.incidents.checklink import record_transitions

        try:
            done = record_transitions(self.session.incidents, transitions)
        except Exception as exc:  # a locked database: say so, the polling goes on
            self._call(
                self.notify,
                f"{type(exc).__name__}: {exc}",
                title="Could not record a check transition",
                severity="error",
            )
            return
        if done:
            self.post_message(DataChanged())

    def open_incident_for(self, check_id: str | None) -> dict[str, Any] | None:
        """The newest open incident about the check (declared from it, or of its service),
        as the dashboard last listed them."""
        if not check_id:
            return None
        from mlops_oncall.incidents.checklink import concerns

        spec = self.specs.get(check_id)
        service = spec.service if spec is not None else None
        return next(
            (
                r
                for r in self.open_incidents
                if concerns(r["declared_from_check"], r["service"], check_id, service)
            ),
            None,
        )

    def _shown_all(self) -> None:
        if not self._all_shown.is_set():
            mark("every check shown")
            self._all_shown.set()

    def on_story_event(self, message: StoryEvent) -> None:
        self.notify(
            message.text,
            title="Demo" if not self.drill_banner_text else "Drill",
            severity=message.severity,
            timeout=10,
        )

    def on_drill_ended(self, message: DrillEnded) -> None:
        """The drill is over: the DRILL banner goes from every screen, and the responder is
        told how it ended (its incidents were resolved by the drill)."""
        from mlops_oncall.ui.widgets.banner import DrillBanner

        self.drill_banner_text = None
        for screen in self.screen_stack:
            for banner in screen.query(DrillBanner):
                banner.remove_class("-on")
        self.notify(message.text, title="Drill ended", timeout=30)
        self.post_message(DataChanged())

    def on_data_changed(self, message: DataChanged) -> None:
        dash = self._dashboard()
        if dash is not None:
            dash.refresh_lists()

    # -- suggestions (core matcher; cached per failure shape) -----------------------------------
    def suggestions_for(self, check_id: str) -> list:
        if not self.ready:  # and before it, importing the matcher would load SQLAlchemy here
            return []
        from mlops_oncall.incidents.suggest import runbook_suggestions

        view = self.views.get(check_id)
        spec = self.specs.get(check_id)
        ec = view.last.error_class if view is not None and view.last is not None else None
        key = (check_id, ec)
        if key not in self._suggest_cache:
            self._suggest_cache[key] = runbook_suggestions(
                self.session.library,
                check_id=check_id,
                error_class=ec,
                service=spec.service if spec else None,
                named=spec.runbook if spec else None,
            )
        return self._suggest_cache[key]

    def current_suggestions(self, service: str | None = None) -> list:
        """Runbooks that fit what is failing now (not blocked by a dependency), best first."""
        best: dict[str, Any] = {}
        for cid, view in self.views.items():
            if view.state not in FAILING or view.blocked_by:
                continue
            spec = self.specs.get(cid)
            if service and spec is not None and spec.service != service:
                continue
            for s in self.suggestions_for(cid):
                if s.runbook_id not in best or best[s.runbook_id].score < s.score:
                    best[s.runbook_id] = s
        return sorted(best.values(), key=lambda s: -s.score)

    # -- core calls off the UI loop ---------------------------------------------------------------
    def run_core(self, label: str, fn, *args, after=None, **kwargs) -> None:
        self._run_core(label, fn, args, kwargs, after)

    @work(thread=True, group="core")
    def _run_core(self, label, fn, args, kwargs, after) -> None:
        from mlops_oncall.incidents.service import IncidentError
        from mlops_oncall.store.errors import StoreError

        try:
            result = fn(*args, **kwargs)
        except StoreError as exc:
            if exc.unreachable and self._queued(fn, args, kwargs):
                return None
            self.call_from_thread(
                self.notify,
                f"{type(exc).__name__}: {exc}",
                title=f"Could not {label}",
                severity="error",
                timeout=15,
            )
            return
        except IncidentError as exc:
            self.call_from_thread(
                self.notify,
                str(exc),
                title=f"Could not {label}",
                severity="error",
                timeout=10,
            )
            return
        except Exception as exc:  # a locked database, a vanished file: say so, keep running
            self.call_from_thread(
                self.notify,
                f"{type(exc).__name__}: {exc}",
                title=f"Could not {label}",
                severity="error",
                timeout=15,
            )
            return
        self.post_message(DataChanged())
        if after is not None:
            self.call_from_thread(after)
        return result

    # -- navigation and actions ---------------------------------------------------------------
    def open_incident(self, incident_id: str) -> None:
        from mlops_oncall.ui.screens.incident import IncidentScreen

        self.push_screen(IncidentScreen(incident_id))

    def action_help(self) -> None:
        from mlops_oncall.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_runbooks(self) -> None:
        from mlops_oncall.ui.screens.runbooks import RunbooksScreen

        if not self.ready:
            self.notify("Still loading the runbooks…")
            return
        self.push_screen(RunbooksScreen())

    def action_incidents(self) -> None:
        """Incident history: back to the list if it is already open under this screen."""
        from mlops_oncall.ui.screens.incidents import IncidentsScreen

        if not self.ready:
            self.notify("Still loading…")
            return
        if any(isinstance(s, IncidentsScreen) for s in self.screen_stack):
            while not isinstance(self.screen, IncidentsScreen):
                self.pop_screen()
            return
        self.push_screen(IncidentsScreen())

    def action_risks(self) -> None:
        from mlops_oncall.ui.screens.risks import RiskScreen

        if not self.ready:
            self.notify("Still loading…")
            return
        self.push_screen(RiskScreen())

    def action_alerts(self) -> None:
        """The alerts inbox (ui/screens/alerts.py): `a` on the dashboard, or the palette."""
        from mlops_oncall.ui.screens.alerts import AlertsScreen

        if not self.ready:
            self.notify("Still loading…")
            return
        self.push_screen(AlertsScreen())

    def action_handoff(self) -> None:
        from mlops_oncall.ui.screens.handoff import HandoffScreen

        if not self.ready:
            self.notify("Still loading…")
            return
        self.push_screen(HandoffScreen())

    def action_debrief(self) -> None:
        from mlops_oncall.ui.screens.debrief import DebriefScreen

        if not self.ready:
            self.notify("Still loading…")
            return
        self.push_screen(DebriefScreen())

    def open_postmortem(self, incident_id: str) -> None:
        from mlops_oncall.ui.screens.postmortem import PostmortemScreen

        self.push_screen(PostmortemScreen(incident_id))

    def action_declare(self) -> None:
        dash = self._dashboard()
        self.declare_from_check(
            dash.selected_check() if dash is not None and self.screen is dash else None
        )

    def declare_from_check(self, check_id: str | None) -> None:
        if not self.ready:
            self.notify("Still loading…")
            return
        view = self.views.get(check_id) if check_id else None
        if view is None or view.state not in FAILING:
            self._show_declare(None)
            return
        open_inc = self.open_incident_for(check_id)
        if open_inc is None:
            self._prepare_declaration(check_id)
            return
        from mlops_oncall.ui.modals import ConfirmModal

        def answered(yes: bool | None) -> None:
            if yes:
                self._prepare_declaration(check_id)

        self.push_screen(
            ConfirmModal(
                f"{open_inc['id']} is already open for {check_id}",
                [
                    f"{open_inc['id']}: {open_inc['title']}",
                    "Declare another incident anyway? (esc: keep the one that is open)",
                ],
                yes_label="Declare another",
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="declare")
    def _prepare_declaration(self, check_id: str) -> None:
        from mlops_oncall.incidents.suggest import declaration_for

        s = self.session
        decl = declaration_for(self.views[check_id], self.specs.get(check_id), s.library, s.store)
        try:  # the budget its SLOs burned since it failed; the dialog opens without it
            budget = self.budget_lines(decl.detected_at, check_id=check_id)
        except Exception:
            budget = []
        self.call_from_thread(self._show_declare, decl, budget)

    def _show_declare(self, decl, budget=()) -> None:
        from mlops_oncall.ui.modals import DeclareModal

        self.push_screen(
            DeclareModal(
                decl,
                drill=bool(self.session.drill_id),
                zone=self.session.workspace.zone(),
                budget=list(budget),
            ),
            self._declared,
        )

    def _declared(self, form: dict | None) -> None:
        if not form:
            return
        s = self.session
        runbook = s.library.get(form["runbook"]).runbook if form["runbook"] else None

        def declare():
            return s.incidents.declare(
                form["title"],
                form["severity"],
                service=form["service"],
                runbook=runbook,
                drill=bool(s.drill_id),
                drill_id=s.drill_id,
                detected_at=form["detected_at"],
                declared_from_check=form["check_id"],
            )

        self._declare_then_open(declare)

    @work(thread=True, group="core")
    def _declare_then_open(self, declare) -> None:
        from mlops_oncall.incidents.service import IncidentError

        try:
            view = declare()
        except IncidentError as exc:
            self.call_from_thread(
                self.notify, str(exc), title="Could not declare", severity="error"
            )
            return
        self.post_message(DataChanged())
        self.call_from_thread(self.open_incident, view.id)
        if view.triage is not None:
            from mlops_oncall.ui.screens.triage import TriageScreen

            self.call_from_thread(self.push_screen, TriageScreen(view.id))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text. Check messages quote Gatus placeholders such as
        ``[RESPONSE_TIME]``, which Textual's markup reads as tags and drops, and neither Rich's
        nor Textual's ``escape`` protects a tag in capitals."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def check_action(self, action: str, parameters) -> bool | None:
        if action in getattr(self.screen, "SHADOWS", ()):
            return False  # the screen's own key, refused there, must not become this one
        if action == "inject_fault":
            return self.fake_system or self._fake_running()
        if action == "refused_runbooks":  # offered only while some are refused
            return self.ready and bool(self.session.library.refused)
        return True

    async def action_quit(self) -> None:
        """Quit, asking first while a screen holds text not recorded (a postmortem field)."""
        from mlops_oncall.ui.modals import ConfirmModal

        title = "Quit with text not recorded?"
        if isinstance(self.screen, ConfirmModal) and self.screen.title_text == title:
            return  # already asking
        pending = [s for s in self.screen_stack if getattr(s, "unsaved_lines", None)]
        lines = [line for s in pending for line in s.unsaved_lines()]
        if not lines:
            self.exit()
            return

        def answer(quit_: bool | None) -> None:
            if quit_:
                for screen in pending:  # the last keystrokes may still be in the typing pause
                    screen.save_drafts_now()
                self.exit()

        self.push_screen(ConfirmModal(title, lines, "Quit"), answer)

    def action_refused_runbooks(self) -> None:
        from mlops_oncall.ui.modals import RefusedRunbooksModal

        self.push_screen(RefusedRunbooksModal(self.session.library.refused))

    def action_inject_fault(self) -> None:
        from mlops_oncall.drills.fake.catalog import SERVICES, faults_for
        from mlops_oncall.drills.fake.faults import PARAMS
        from mlops_oncall.ui.modals import InjectFaultModal

        def default(fault: str) -> str:
            return " ".join(f"{p.name}={p.default:g}" for p in PARAMS.get(fault, ()))

        faults = {s: list(faults_for(s)) for s in SERVICES}
        defaults = {f: default(f) for fs in faults.values() for f in fs}
        self.push_screen(InjectFaultModal(list(SERVICES), faults, defaults), self._inject)

    def _inject(self, form: dict | None) -> None:
        if form:
            self._send_fault(form)

    def _fake_running(self) -> bool:
        return bool(self.session is not None and self.session.fake_control_url)

    @work(thread=True, group="fault")
    def _send_fault(self, form: dict) -> None:
        if not self._fake_running():
            self.call_from_thread(
                self.notify,
                "The fake ML system is still starting: try again in a moment.",
                title="Fault not injected",
                severity="warning",
            )
            return
        control = self.session.fake_control()
        try:
            if form.get("clear"):
                control.clear()
                self.call_from_thread(self.notify, "Cleared every fault")
            else:
                control.inject(form["service"], form["fault"], **form["params"])
                self.call_from_thread(
                    self.notify,
                    f"Injected {form['fault']} into {form['service']}",
                    severity="warning",
                )
        except Exception as exc:
            self.call_from_thread(
                self.notify, str(exc), title="Fault not injected", severity="error"
            )

    def action_clear_faults(self) -> None:
        self._send_fault({"clear": True})
