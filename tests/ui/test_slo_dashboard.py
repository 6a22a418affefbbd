"""The dashboard's SLO panel, the SLO alarm and the declare dialog's budget line, on a real
SQLite workspace whose 30 days of polls were written as the monitor writes them (hourly and
per-minute roll-ups, ui/gallery/slos.py): docs/slo.md's worked example, 13 bad polls of
43,200 at 99.9% leave 69.9% of the budget and the 1h/5m and 6h/30m page rows fire."""

from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import DataTable

from mlops_oncall.ui.gallery import slos as gallery_slos
from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.gallery.workspace import T0, fixed_views
from mlops_oncall.ui.modals import DeclareModal
from mlops_oncall.ui.screens.dashboard import DashboardScreen
from mlops_oncall.ui.widgets.slo_panel import SloPanel

from .conftest import wait_for


def _app(tmp_path, *, slos: bool = True):
    app = build_app(tmp_path)
    if slos:
        gallery_slos.install(app.session.workspace.root, app.session.store, T0)
    return app


def _panel_text(app) -> str:
    return str(app.screen.query_one(SloPanel).render())


async def test_panel_shows_each_budget_and_the_burning_one_first(tmp_path):
    app = _app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.slo_statuses is not None, what="the SLOs")
            await pilot.pause()
            panel = app.screen.query_one(SloPanel)
            assert panel.has_class("-on") and panel.display
            lines = _panel_text(app).splitlines()
            assert len(lines) == 2
            assert lines[0].startswith("🔥 page   fraud-availability")
            assert "69.9% left" in lines[0] and "burn  50.0x" in lines[0]
            assert lines[0].endswith("burn  50.0x  1h/5m, 6h/30m")
            assert lines[1].startswith("✓ ok      features-availability")
            assert "100.0% left" in lines[1] and "burn  0.00x" in lines[1]
            # usable at 80x24: the whole line fits inside the panel's border, and the checks
            # table keeps most of the screen
            assert panel.region.width == 80 and max(map(cell_len, lines)) <= 76
            table = app.screen.query_one("#checks-table", DataTable)
            assert table.region.height >= 8
    finally:
        app.session.close()


async def test_a_paging_slo_raises_the_alarm_with_its_runbook_once(tmp_path):
    app = _app(tmp_path)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.slo_statuses is not None, what="the SLOs")

            def alarms():
                return [n for n in app._notifications if n.title == "SLO alarm"]

            await wait_for(pilot, lambda: alarms(), what="the SLO alarm")
            (alarm,) = alarms()
            assert alarm.severity == "error"
            assert alarm.message.startswith(
                "SLO fraud-availability is burning its error budget: 1h/5m page, 6h/30m page "
                "at 50.0x, 69.9% left."
            )
            # fraud.ready names fraud-latency and its triggers list the check
            assert "Suggested runbook: fraud-latency." in alarm.message
            # the seeded incident about fraud.ready is open: no second declaration asked for
            assert "INC-" in alarm.message and " open." in alarm.message
            # evaluated again, still paging: no second toast
            app.refresh_slos()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert len(alarms()) == 1
    finally:
        app.session.close()


async def test_declare_dialog_says_the_budget_burned_so_far(tmp_path):
    app = _app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.slo_statuses is not None, what="the SLOs")
            app.apply_views(fixed_views())  # fraud.ready down, first failing 3 minutes ago
            await pilot.pause()
            app._prepare_declaration("fraud.ready")
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="dialog")
            await wait_for(pilot, lambda: app.screen.query("#declare-budget"), what="budget")
            await pilot.pause()
            budget = str(app.screen.query_one("#declare-budget").render())
            # the 3 bad polls since the first failure: 3 / 43.2 of the budget
            assert budget == (
                "SLO fraud-availability: 6.9% of its 30d budget burned so far (3 bad polls); "
                "69.9% left"
            )
    finally:
        app.session.close()


async def test_no_slos_file_no_panel_no_evaluation(tmp_path):
    app = _app(tmp_path, slos=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            assert not app.screen.query_one(SloPanel).has_class("-on")
            assert app.slo_statuses is None
            assert "slos" not in app.session.__dict__  # Session.slos never built
    finally:
        app.session.close()


async def test_declaring_from_an_alert_group_shows_its_service_budget(tmp_path):
    from mlops_oncall.ui.gallery.alerts import seed_alerts
    from mlops_oncall.ui.screens.alerts import AlertsScreen

    app = _app(tmp_path)
    seed_alerts(app.session)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.slo_statuses is not None, what="the SLOs")
            await pilot.press("a")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, AlertsScreen) and app.screen.groups,
                what="the inbox",
            )
            await pilot.press("d")  # the newest group: fraud-scoring's latency, from T0 - 6m
            await wait_for(pilot, lambda: app.screen.query("#declare-budget"), what="budget")
            await pilot.pause()
            budget = str(app.screen.query_one("#declare-budget").render())
            # fraud.ready is a check of fraud-scoring: its 3 bad polls since the first alert
            assert budget == (
                "SLO fraud-availability: 6.9% of its 30d budget burned so far (3 bad polls); "
                "69.9% left"
            )
    finally:
        app.session.close()


async def test_slos_yaml_written_then_removed_while_the_app_runs(tmp_path):
    from mlops_oncall.ui.gallery.slos import SLOS_YAML, history, seed_polls

    app = _app(tmp_path, slos=False)
    seed_polls(app.session.store, history(T0), T0)
    path = app.session.workspace.root / "slos.yaml"
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.ready and app.watcher is not None, what="boot")
            panel = app.screen.query_one(SloPanel)
            assert not panel.has_class("-on")
            path.write_text(SLOS_YAML)  # the file watcher reads it again
            await wait_for(pilot, lambda: panel.has_class("-on"), what="the panel")
            assert "fraud-availability" in _panel_text(app)
            path.write_text(SLOS_YAML.split("  - id: features")[0])  # one SLO left
            await wait_for(
                pilot, lambda: "features" not in _panel_text(app), what="the SLO removed"
            )
            path.unlink()
            await wait_for(pilot, lambda: not panel.has_class("-on"), what="the panel hidden")
            assert app.slo_statuses is None
    finally:
        app.session.close()
