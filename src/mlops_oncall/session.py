"""A session: the workspace and its core services, built lazily, shared by the TUI and the CLI.

Nothing is opened at construction: the TUI paints its first frame before SQLAlchemy, httpx or
the runbook library are imported, then a worker calls the properties here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.config import Workspace

if TYPE_CHECKING:
    from mlops_oncall.alerts.service import Alerts
    from mlops_oncall.changes.source import MlflowSource
    from mlops_oncall.checks.spec import CheckSet
    from mlops_oncall.drills.records import DrillRecords
    from mlops_oncall.formats.problems import Problem
    from mlops_oncall.incidents.deploys import Deploys
    from mlops_oncall.incidents.outbox import OfflineWrites
    from mlops_oncall.incidents.service import Incidents
    from mlops_oncall.notify.dispatcher import Dispatcher
    from mlops_oncall.notify.service import Notifier
    from mlops_oncall.redact import Redactor
    from mlops_oncall.reports.drafts import Drafts
    from mlops_oncall.reports.risks import Risks
    from mlops_oncall.reports.sources import Sources
    from mlops_oncall.runbooks.library import Library
    from mlops_oncall.slo.config import SloSet
    from mlops_oncall.slo.service import Slos
    from mlops_oncall.store.db import Store
    from mlops_oncall.store.live import Watcher
    from mlops_oncall.store.presence import PresenceBoard


@dataclass
class Session:
    workspace: Workspace
    clock: Clock = SYSTEM
    database_url: str | None = None  # overrides the workspace's (the demo's own database)
    checks_file: Path | None = None  # overrides the workspace's
    title: str | None = None  # shown in the header instead of the workspace name
    drill_id: str | None = None  # set in drill mode: incidents are declared as drills
    fake_control_url: str | None = None  # "Inject fault" is offered when set
    check_problems: list[Problem] = field(default_factory=list)
    on_warning: Callable[[str], None] | None = None  # where the services' warnings go (CLI: stderr)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.title or self.workspace.name

    @property
    def actor(self) -> str:
        return self.workspace.actor()

    @cached_property
    def store(self) -> Store:
        from mlops_oncall.store.db import open_store

        # a SQLite file upgraded on open says so (CLI: on stderr)
        return open_store(self.database, note=self.on_warning)

    @property
    def database(self) -> str:
        """The database URL: the entry point's override, else the workspace's."""
        return self.database_url or self.workspace.database_url()

    def upgraded_store(self) -> Store:
        """The store opened with an older schema upgraded, on either backend (`db upgrade`);
        the caller closes it."""
        from mlops_oncall.store.db import open_store

        return open_store(self.database, upgrade=True)

    @cached_property
    def drafts(self) -> Drafts:
        """Postmortem text typed but not yet recorded, beside the database."""
        from mlops_oncall.reports.drafts import Drafts, drafts_path

        return Drafts(drafts_path(self.database_url or self.workspace.database_url()))

    @cached_property
    def redactor(self) -> Redactor:
        """The workspace's one redactor, built here only: credential shapes, plus every secret
        the checks file resolves (an unset variable does not stop it learning the others).
        Every service and document masks through it."""
        from mlops_oncall.redact import Redactor

        redactor = Redactor()
        loaded = self.__dict__.get("checks")
        if loaded is not None and not loaded.refused:
            # the TUI has read the checks already: learn their secrets without reading (and
            # validating) the file again, 5.8 MiB and 0.1 s at 1,000 checks. A refused entry
            # may hold secrets a lenient load never resolved, so then the file is read.
            redactor.include(loaded.redactor)
        else:
            self._read_sources(redactor)
        return redactor

    def sources(self) -> Sources:
        """What a document needs besides the store, read afresh (the checks file may have
        changed): the checks' names and SLOs, the weekly bands, and ``redactor``."""
        return self._read_sources(self.redactor)

    def _read_sources(self, redactor: Redactor) -> Sources:
        from mlops_oncall.reports.sources import load_sources

        sources = load_sources(self.checks_path, redactor)
        bands = self.workspace.config.weekly.change_failure_rate
        sources.cfr_amber_above, sources.cfr_red_above = bands.amber_above, bands.red_above
        return sources

    @cached_property
    def incidents(self) -> Incidents:
        return self.incidents_as(self.actor)

    def incidents_as(self, actor: str, *, clock: Clock | None = None) -> Incidents:
        """The incident service acting as someone else, on its own clock if given (the demo's
        seeded history: priya, days ago)."""
        from mlops_oncall.incidents.service import Incidents
        from mlops_oncall.store.witness import open_witness

        ws = self.workspace
        return Incidents(
            self.store,
            clock=clock or self.clock,
            actor=actor,
            zone=ws.zone(),
            redactor=self.redactor,
            witness=open_witness(self.store.url, ws.config.witness, ws.root),
            on_warning=self.on_warning,
        )

    def watch(
        self,
        on_change: Callable[[frozenset[int]], None],
        *,
        incidents: list[int] | None = None,
        on_status: Callable[[str], None] | None = None,
        on_deploys: Callable[[], None] | None = None,
        on_alerts: Callable[[], None] | None = None,
    ) -> Watcher:
        """A watcher (not started) of new events in the store: ``on_change`` gets the ids of
        the incidents that have some, on the watcher's thread (store/live.py)."""
        from mlops_oncall.store.live import Watcher

        return Watcher(
            self.store,
            on_change,
            incidents=incidents,
            on_status=on_status,
            on_deploys=on_deploys,
            on_alerts=on_alerts,
        )

    @cached_property
    def presence(self) -> PresenceBoard:
        """Who else has an incident open (store/presence.py): this process's heartbeats, on
        the wall clock whatever the session's (a drill's runs faster than the beats)."""
        from mlops_oncall.store.presence import PresenceBoard

        return PresenceBoard(self.store, actor=self.actor)

    @cached_property
    def slos(self) -> Slos:
        """The workspace's SLOs (slos.yaml) evaluated over the store's roll-ups; none without
        the file. A file with errors raises ProblemsError; its warnings go to on_warning."""
        from mlops_oncall.formats.problems import ProblemsError
        from mlops_oncall.slo.service import Slos

        slos, problems = self.load_slos()
        if slos is None:
            raise ProblemsError([p for p in problems if p.is_error])
        if self.on_warning is not None:
            for p in problems:
                self.on_warning(str(p))
        # the redactor is built only for a Prometheus SLO's error line
        return Slos(lambda: self.store, self.clock, slos, lambda t: self.redactor.text(t))

    def load_slos(self) -> tuple[SloSet | None, list[Problem]]:
        """Read slos.yaml afresh: an empty set when the workspace has none. A check id it
        names that the checks file lacks is a warning."""
        from mlops_oncall.slo.config import SloSet, load_slos

        path = self.workspace.slos_file
        if path is None or not path.is_file():
            return SloSet(str(path or "slos.yaml")), []
        checks = self.checks
        known = {*checks.specs, *(r.id for r in checks.refused)} if checks is not None else None
        return load_slos(path, known_checks=known)

    @cached_property
    def drills(self) -> DrillRecords:
        """The drill records; a drill's Session is built with the drill's clock."""
        from mlops_oncall.drills.records import DrillRecords

        return DrillRecords(self.store, self.clock, self.redactor, self.actor)

    @cached_property
    def deploys(self) -> Deploys:
        return self.deploys_as(self.actor)

    def deploys_as(self, actor: str, *, clock: Clock | None = None) -> Deploys:
        from mlops_oncall.incidents.deploys import Deploys

        return Deploys(self.store, clock=clock or self.clock, actor=actor, redactor=self.redactor)

    @cached_property
    def outbox(self) -> OfflineWrites | None:
        """Writes waiting for a team database that could not be reached (incidents/outbox.py),
        in a local file per database; None on SQLite: a file has no network to lose. Built
        without opening the database: it is needed most when that fails."""
        from sqlalchemy.engine import make_url

        try:
            if make_url(self.database).get_backend_name() == "sqlite":
                return None
        except Exception:  # an invalid URL: opening the store says so
            return None
        from mlops_oncall.incidents.outbox import OfflineWrites
        from mlops_oncall.paths import user_data_dir
        from mlops_oncall.store.outbox import Outbox, outbox_path

        def services(kind: str, actor: str, clock: Clock) -> Any:
            build = self.incidents_as if kind == "incidents" else self.deploys_as
            return build(actor, clock=clock)

        return OfflineWrites(
            Outbox(outbox_path(self.database, user_data_dir())),
            services,
            clock=self.clock,
            actor=self.actor,
            redactor=self.redactor,
        )

    def change_sources(self) -> list[MlflowSource]:
        """The configured change sources (`changes:` in oncall.yaml), built afresh; each records
        its deploys as its own actor (``mlflow``), and a token it resolves is learned by
        ``redactor``. Raises a located SourceConfigError when `changes:` cannot be used."""
        from mlops_oncall.changes.source import ACTOR, build_sources

        return build_sources(self.workspace, self.redactor, self.deploys_as(ACTOR))

    @cached_property
    def risks(self) -> Risks:
        return self.risks_as(self.actor)

    def risks_as(self, actor: str) -> Risks:
        """The risk register acting as someone else (a seeded register: who reviewed what)."""
        from mlops_oncall.reports.risks import Risks

        return Risks(self.store, clock=self.clock, actor=actor, redactor=self.redactor)

    @cached_property
    def alerts(self) -> Alerts:
        """Alertmanager's alert groups (alerts/service.py): what Alertmanager reported is
        written as `alertmanager`, what the responder decides as the session's actor. The
        runbook library is loaded only when an alert declares an incident."""
        from mlops_oncall.alerts.service import ALERTMANAGER, Alerts

        return Alerts(
            self.store,
            responder=self.incidents,
            machine=self.incidents_as(ALERTMANAGER),
            config=self.workspace.config.alerts,
            clock=self.clock,
            redactor=self.redactor,
            library=lambda: self.library,
        )

    @cached_property
    def notify(self) -> Notifier:
        """Status updates (notify/service.py): the draft, `notify:` destinations, the update
        cadence of `update_every:`. Posting acts as the session's actor."""
        from mlops_oncall.notify.service import Notifier

        cfg = self.workspace.config
        return Notifier(
            self.store,
            self.incidents,
            destinations=cfg.notify,
            every=cfg.update_every,
            clock=self.clock,
            redactor=self.redactor,
        )

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """The notification queue (notify/dispatcher.py): `notifications:` rules over the
        timeline, the deadlines, delivery to `notify:` destinations with durable retries."""
        from mlops_oncall.notify.dispatcher import Dispatcher

        return Dispatcher(
            self.store,
            self.incidents,
            self.notify,
            rules=self.workspace.config.notifications,
            clock=self.clock,
            redactor=self.redactor,
            slo_pages=self._slo_pages(),
        )

    def _slo_pages(self) -> Any:
        """`when: slo_page` rules' evaluation (notify/slo_page.py): None without such a rule
        or without slos.yaml."""
        if not any(r.when == "slo_page" for r in self.workspace.config.notifications):
            return None
        path = self.workspace.slos_file
        if path is None or not path.is_file():
            return None
        from mlops_oncall.notify.slo_page import SloPages, about_with

        return SloPages(lambda at: self.slos.evaluate(at), about_with(self.checks, self.library))

    def postmortem_inputs(self) -> dict[str, Any]:
        """What reports/postmortem.py reads: this session's services and check history."""
        from functools import partial

        from mlops_oncall.store.checks_history import transitions

        return {
            "incidents": self.incidents,
            "deploys": self.deploys,
            "transitions": partial(transitions, self.store),
            "clock": self.clock,
            "slos": self.report_slos(),
        }

    def report_slos(self) -> Slos | None:
        """The SLOs a document states budgets for: None without a slos.yaml, or with one in
        error (said on on_warning: a document is still written, without budgets)."""
        from mlops_oncall.formats.problems import ProblemsError

        path = self.workspace.slos_file
        if path is None or not path.is_file():
            return None
        try:
            return self.slos
        except ProblemsError as exc:
            if self.on_warning is not None:
                self.on_warning(f"SLO budgets left out: {exc.problems[0]}")
            return None

    def weekly_inputs(self) -> dict[str, Any]:
        """What reports/weekly.py reads; the drill runs as plain data (reports do not
        import drills)."""
        from functools import partial

        from mlops_oncall.store.checks_history import rollups

        return {
            "incidents": self.incidents,
            "deploys": self.deploys,
            "rollups": partial(rollups, self.store),
            "risks": self.risks,
            "drill_runs": self.drills.runs(),
            "clock": self.clock,
            "slos": self.report_slos(),
            "readiness": self.readiness_summaries(),
        }

    def readiness_summaries(self) -> dict[str, list[dict[str, Any]]]:
        """Every kept readiness review by service, oldest first, as plain data (reports do not
        import readiness): when, who, the checklist, the overall and per-category percentages
        and the number of gaps. An unreadable review is a usage error naming its file."""
        from mlops_oncall.formats.errors import BadInput
        from mlops_oncall.readiness.review import ReviewError, Reviews, summary

        reviews = Reviews(self.readiness_dir)
        try:
            kept = {s: reviews.history(s) for s in reviews.services()}
        except ReviewError as exc:
            raise BadInput(str(exc)) from None
        return {
            service: [{k: v for k, v in summary(r).items() if k != "file"} for r in rows]
            for service, rows in kept.items()
        }

    def handoff_inputs(self) -> dict[str, Any]:
        """What reports/handoff.py reads; the scenarios and when each was last drilled as
        plain data (reports do not import drills)."""
        from functools import partial

        from mlops_oncall.drills.library import list_scenarios
        from mlops_oncall.store.checks_history import latest_transitions

        last: dict[str, Any] = {}
        for d in self.drills.list():  # newest first
            last.setdefault(d.scenario_id, d.started_at)
        entries, _ = list_scenarios(self.workspace.scenarios_dir)
        return {
            "incidents": self.incidents,
            "risks": self.risks,
            "check_states": partial(latest_transitions, self.store),
            "scenarios": {
                e.scenario.id: {"title": e.scenario.title, "last_drilled": last.get(e.scenario.id)}
                for e in entries
            },
            "clock": self.clock,
        }

    def readiness_facts(
        self, checklist: Any, service: str, states: dict[str, tuple[str, str]] | None = None
    ) -> Any:
        """What a readiness review knows without asking (readiness/gather.py): the service's
        checks probed once (or their ``states`` as the TUI's monitor has them), the runbooks,
        the finished drills and the service's open risks as plain data (readiness does not
        import drills or reports)."""
        from mlops_oncall.formats.refs import public_id
        from mlops_oncall.readiness.gather import gather

        return gather(
            checklist,
            service=service,
            now=self.clock.now(),
            checkset=self.checks,
            redactor=self.redactor,
            library=self.library,
            drills=self.drills.list(),
            risks=self.risks.list(include_closed=False),
            incident_ids={public_id(i.id) for i in self.incidents.list(service=service)},
            states=states,
            slos=self.load_slos()[0] or (),  # slos.yaml; one with errors counts none
        )

    @property
    def readiness_dir(self) -> Path:
        """Where completed readiness reviews are kept: the workspace's readiness/ folder, else
        the user data dir's."""
        if self.workspace.root is not None:
            return self.workspace.root / "readiness"
        from mlops_oncall.paths import user_data_dir

        return user_data_dir() / "readiness"

    def render_readiness(self, context: dict[str, Any]) -> str:
        """A readiness assessment through the documents' sandboxed render path (readiness
        does not import reports): the shipped or the workspace's readiness.md.j2."""
        from mlops_oncall.reports.render import render_document

        return render_document(
            "readiness.md.j2",
            context,
            self.sources(),
            templates_dir=self.workspace.templates_dir,
        )

    @cached_property
    def library(self) -> Library:
        return self.load_library()

    def load_library(self, paths: list[Path] | None = None) -> Library:
        """The runbook library read afresh (``paths``: these files or folders instead of the
        workspace's); ``library`` is this, loaded once."""
        import os

        from mlops_oncall.checks.config import label_names
        from mlops_oncall.runbooks.cache import default_cache
        from mlops_oncall.runbooks.library import Library

        cache = None if os.environ.get("MLOPS_ONCALL_NO_CACHE") else default_cache()
        loaded = self.__dict__.get("checks")
        if loaded is not None and not loaded.refused:  # the TUI's: the file is not read again
            labels = {name for spec in loaded.specs.values() for name in spec.labels}
        else:
            labels = label_names(self.checks_path)  # names the checks' labels: fill
        return Library.load(
            self.workspace.runbook_dirs(),
            paths=paths,
            stale_after=self.workspace.config.stale_after,
            cache=cache,
            today=self.clock.now().date(),
            variables=[*self.workspace.config.vars, *labels],
        )

    @cached_property
    def checks(self) -> CheckSet | None:
        """The checks, or None without a checks file; problems land in check_problems.

        Lenient: a broken entry refuses that check only (``CheckSet.refused``), so one typo
        does not silence the others; an error in the file as a whole refuses every check."""
        checkset, self.check_problems = self.load_checks()
        return checkset

    def load_checks(self) -> tuple[CheckSet | None, list[Problem]]:
        """Read the checks file afresh (the TUI reloads it when it changes)."""
        path = self.checks_path
        if path is None or not path.is_file():
            return None, []
        from mlops_oncall.checks.config import load_checks

        # a `runbook:` naming none in the library is a warning here (an error in `check
        # validate`); it is checked once the library is loaded, never by loading it: at boot
        # the checks come first so polling starts sooner (see note_unknown_runbooks)
        known = (lambda: list(self.library.entries)) if "library" in self.__dict__ else None
        return load_checks(path, partial=True, runbooks=known, unknown_runbook="warning")

    def note_unknown_runbooks(self) -> None:
        """Once the library has loaded: a check whose `runbook:` names none in it becomes a
        located warning. The file is read again only when there is such a check."""
        checks = self.__dict__.get("checks")
        if checks is None:
            return
        ids = self.library.entries
        if all(spec.runbook in (None, *ids) for spec in checks.specs.values()):
            return
        _, self.check_problems = self.load_checks()

    def use_checks(self, checkset: CheckSet, problems: list[Problem]) -> None:
        """A reload that loaded: from now on ``checks`` is this set (placeholders read it)."""
        self.__dict__["checks"] = checkset
        self.check_problems = problems
        if "redactor" in self.__dict__:  # a secret added to the file is masked from now on
            self.redactor.include(checkset.redactor)

    @property
    def checks_path(self) -> Path | None:
        path = self.checks_file or self.workspace.checks_file
        return None if path is None else Path(path)

    @property
    def has_workspace(self) -> bool:
        """False when running on built-in defaults: no oncall.yaml and no checks file."""
        path = self.checks_path
        return self.workspace.root is not None or (path is not None and path.is_file())

    def reload_library(self) -> Library:
        """Load the runbooks again (the TUI does when a runbook file changes)."""
        with self._lock:
            self.__dict__.pop("library", None)
        return self.library

    def reload_slos(self) -> None:
        """Forget the SLOs read so far: ``slos`` reads slos.yaml again when next asked (the
        TUI does when the file changes)."""
        with self._lock:
            self.__dict__.pop("slos", None)

    def watched_files(self) -> dict[str, Any]:
        """The TUI's file watcher: functions listing the checks file, the runbook files and
        slos.yaml."""
        from mlops_oncall.runbooks.library import runbook_files

        def checks() -> list[Path]:
            path = self.checks_path
            return [path] if path is not None else []

        def runbooks() -> list[Path]:
            dirs = self.workspace.runbook_dirs()
            # a folder that appears later is reported by its files; so is one that is emptied
            return [*dirs, *(f for d in dirs for f in runbook_files(d))]

        def slos() -> list[Path]:
            path = self.workspace.slos_file
            return [path] if path is not None else []

        return {"checks": checks, "runbooks": runbooks, "slos": slos}

    def fake_control(self) -> Any:
        if not self.fake_control_url:
            return None
        from mlops_oncall.drills.fake.client import FakeControl

        return FakeControl(self.fake_control_url)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
