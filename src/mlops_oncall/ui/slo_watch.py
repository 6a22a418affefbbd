"""The app's SLOs: evaluated off the UI loop once the app has booted, and again every
``slo_every`` seconds (the monitor writes the minute roll-ups they read once a minute), only
when the workspace has a slos.yaml. The dashboard's panel shows them; an SLO whose page row
starts firing raises the same alarm as a failing check, with the runbook that fits its
checks; the declare dialog says how much budget the check's SLOs burned since it failed.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from textual import work

from mlops_oncall.ui.coalesce import one_at_a_time


class SloWatch:
    """Mixed into OncallApp (it needs the app's session, notify, timers and workers)."""

    slo_every: float | None = 60.0
    slo_statuses: list[Any] | None = None  # the last evaluation; None before one
    slo_error: str | None = None  # slos.yaml refused: its first problem
    _slo_paging: set[str] | None = None  # SLO ids paging at the last evaluation
    _slo_timer: Any = None

    def start_slos(self) -> None:
        """At boot: nothing at all without a slos.yaml (no import, no query, no timer)."""
        app: Any = self
        path = app.session.workspace.slos_file
        if path is None or not path.is_file():
            return
        app.refresh_slos()
        if self.slo_every and self._slo_timer is None:
            self._slo_timer = app.set_interval(self.slo_every, app.refresh_slos)

    def slos_changed(self) -> None:
        """slos.yaml was written, created or removed while the app runs (the file watcher;
        Session.reload_slos has forgotten the old SLOs)."""
        from mlops_oncall.ui.widgets.slo_panel import SloPanel

        app: Any = self
        path = app.session.workspace.slos_file
        if path is not None and path.is_file():
            self.start_slos()
            return
        if self._slo_timer is not None:
            self._slo_timer.stop()
            self._slo_timer = None
        self.slo_statuses, self.slo_error, self._slo_paging = None, None, None
        for screen in app.screen_stack:
            for panel in screen.query(SloPanel):
                panel.show(app)

    @work(thread=True, group="slos")
    @one_at_a_time
    def refresh_slos(self) -> None:
        from mlops_oncall.formats.problems import ProblemsError

        app: Any = self
        try:
            statuses, error = app.session.slos.status(), None
        except ProblemsError as exc:
            statuses, error = None, f"slos.yaml refused: {exc.problems[0]}"
        except Exception as exc:  # a locked database: say so in the panel, keep the app going
            statuses, error = None, f"SLOs not evaluated: {type(exc).__name__}: {exc}"
        with contextlib.suppress(RuntimeError):  # the app is closing
            app.call_from_thread(self._slos_read, statuses, error)

    def _slos_read(self, statuses: list[Any] | None, error: str | None) -> None:
        from mlops_oncall.ui.widgets.slo_panel import SloPanel

        app: Any = self
        path = app.session.workspace.slos_file
        if path is None or not path.is_file():  # removed while it was evaluated
            return
        self.slo_error = app.session.redactor.text(error) if error else None
        if statuses is not None:
            self.slo_statuses = statuses
            self._slo_alarms(statuses)
        for screen in app.screen_stack:
            for panel in screen.query(SloPanel):
                panel.show(app)

    def _slo_alarms(self, statuses: list[Any]) -> None:
        """A toast for each SLO that started paging since the last evaluation (or paged at
        the first): the check alarm's shape, not repeated every minute while it pages."""
        from mlops_oncall.ui.widgets.slo_panel import alarm_text

        app: Any = self
        paging = {s.slo.id for s in statuses if s.paging}
        new = [s for s in statuses if s.slo.id in paging - (self._slo_paging or set())]
        self._slo_paging = paging
        for s in new:
            best = self.slo_suggestions(s.slo)
            open_inc = next(
                (i for c in s.slo.checks if (i := app.open_incident_for(c)) is not None), None
            )
            app.notify(
                alarm_text(s, best[0].runbook_id if best else None, (open_inc or {}).get("id")),
                title="SLO alarm",
                severity="error",
                timeout=12 if app.size.width >= 100 else 8,
            )

    def slo_suggestions(self, slo: Any) -> list[Any]:
        """Runbooks that fit an SLO: triggered by its checks (or named by them), its checks'
        services strengthening the match (a service alone suggests nothing)."""
        from mlops_oncall.incidents.suggest import suggestions_for_checks

        app: Any = self
        if not app.ready:
            return []
        specs = [app.specs[c] for c in slo.checks if c in app.specs]
        return suggestions_for_checks(
            app.session.library,
            checks=list(slo.checks),
            services=sorted({s.service for s in specs if s.service}),
            named={s.id: s.runbook for s in specs if s.runbook},
        )

    def budget_lines(
        self, since: datetime | None, *, check_id: str | None = None, service: str | None = None
    ) -> list[str]:
        """For the declare dialog (on a worker thread): the budget each SLO over the check (or
        over a check of the service: an alert group's) burned since ``since``, and what is
        left. Nothing without SLOs over it."""
        from mlops_oncall.ui.widgets.slo_panel import budget_text

        app: Any = self
        statuses = {s.slo.id: s for s in self.slo_statuses or ()}
        if not statuses:
            return []
        slos = app.session.slos
        now = app.session.clock.now()
        start = since or now
        of_service = {c for c, spec in app.specs.items() if service and spec.service == service}
        out = []
        for slo in slos.set:
            if check_id not in slo.checks and not of_service & set(slo.checks):
                continue
            used = slos.consumed(slo.id, start, now)
            st = statuses.get(slo.id)
            left = f"; {budget_text(st)}" if st is not None else ""
            if used.share is None:
                out.append(f"SLO {slo.id}: no polls in its {slo.window_text} window{left}")
                continue
            line = (
                f"SLO {slo.id}: {used.share * 100:.1f}% of its {slo.window_text} budget burned "
                f"so far ({used.bad} bad poll{'s' * (used.bad != 1)}){left}"
            )
            if used.needs_postmortem:
                line += "; over 20%: a postmortem is due"
            out.append(line)
        return out
