"""The alerts inbox on a real SQLite workspace, its groups received through
``Session.alerts.receive`` as Alertmanager's webhook posts them: the list and the detail pane,
the dashboard's line, declare / attach / dismiss asserted in the store, silences against a
local aiohttp server answering as Alertmanager's API v2 documents (api/v2/openapi.yaml:
postSilences answers 200 {"silenceID": ...}, or 400 with the reason as a JSON string), and a
group received by another session appearing while the inbox is open."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from textual.widgets import DataTable, Input, Static

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.gallery.alerts import alert, payload, seed_alerts
from mlops_oncall.ui.gallery.scenes import build_app
from mlops_oncall.ui.gallery.workspace import T0
from mlops_oncall.ui.modals import ChoiceModal, DeclareModal
from mlops_oncall.ui.screens.alert_dialogs import SilenceModal
from mlops_oncall.ui.screens.alerts import AlertsScreen
from mlops_oncall.ui.screens.dashboard import DashboardScreen
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.widgets.inbox import InboxBanner

from .conftest import wait_for


def _app(tmp_path, **kw):
    app = build_app(tmp_path, **kw)
    seed_alerts(app.session)
    return app


async def _inbox(app, pilot) -> AlertsScreen:
    await wait_for(pilot, lambda: app.ready, what="boot")
    assert isinstance(app.screen, DashboardScreen)
    banner = app.screen.query_one(InboxBanner)
    await wait_for(pilot, lambda: banner.has_class("-on"), what="the inbox line")
    await pilot.press("a")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, AlertsScreen) and app.screen.groups is not None,
        what="the inbox",
    )
    return app.screen


def _select(screen: AlertsScreen, gid: str) -> None:
    t = screen.query_one("#alerts-table", DataTable)
    t.move_cursor(row=t.get_row_index(gid))


async def test_groups_newest_first_with_their_alerts(tmp_path):
    app = _app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _inbox(app, pilot)
            dash = app.screen_stack[0]
            line = str(dash.query_one(InboxBanner).render())
            assert "3 alert groups in the inbox, 3 firing (a: open)" in line
            assert "newest: FraudLatencyHigh on fraud-scoring SEV3" in line
            assert [(g.id, g.state) for g in screen.groups] == [
                ("ALG-0004", "inbox"),
                ("ALG-0003", "declared"),
                ("ALG-0002", "inbox"),
                ("ALG-0001", "inbox"),
            ]
            t = screen.query_one("#alerts-table", DataTable)
            assert str(t.get_cell("ALG-0004", "firing")) == "2/2"
            assert str(t.get_cell("ALG-0001", "firing")) == "✓ 0/1"  # resolved, still shown
            assert str(t.get_cell("ALG-0003", "incident")) == "INC-0005"
            detail = str(screen.query_one("#alert-detail-body", Static).render())
            assert "p99 latency 1.4s over 5m on x2k4p" in detail
            assert "pod=fraud-scoring-7d9f-q8m1z" in detail
            assert "http://prometheus:9090/graph" in detail
            _select(screen, "ALG-0001")  # its alerts are read when it is selected
            body = screen.query_one("#alert-detail-body", Static)
            await wait_for(
                pilot, lambda: "✓ resolved GPUMemoryHigh" in str(body.render()), what="detail"
            )
            assert "ended" in str(body.render())
            await pilot.press("ctrl+f")  # every group: nothing more here, but it re-reads
            await wait_for(pilot, lambda: screen.show_all, what="all")
    finally:
        app.session.close()


async def test_declare_from_a_group_opens_the_incident(tmp_path):
    app = _app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _inbox(app, pilot)
            await pilot.press("d")  # the newest: FraudLatencyHigh
            await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="dialog")
            dialog = app.screen
            title = dialog.query_one("#declare-title", Input)
            assert title.value == "FraudLatencyHigh: p99 latency 1.4s over 5m on x2k4p (SLO 250ms)"
            assert dialog.query_one("#declare-service", Input).value == "fraud-scoring"
            title.value = "Fraud p99 over SLO on two pods"
            dialog.query_one("#declare-service", Input).value = "fraud-api"  # the responder's
            await pilot.press("ctrl+s")
            await wait_for(
                pilot, lambda: isinstance(app.screen, IncidentScreen), what="the incident"
            )
            view = app.session.alerts.get("ALG-0004")
            assert view.state == "declared" and view.row["decided_by"] == app.session.actor
            inc = app.session.incidents.get(view.incident).row
            assert inc.title == "Fraud p99 over SLO on two pods"
            assert inc.severity == "SEV3" and inc.service == "fraud-api"
            assert inc.detected_at == T0 - timedelta(minutes=6)  # the first alert's startsAt
            kinds = [e.kind for e in app.session.incidents.events(view.incident)]
            assert kinds.count("alert_fired") == 2
            header = app.screen.query_one("#incident-header", Static)
            await wait_for(
                pilot, lambda: "ALG-0004 2/2 firing" in str(header.render()), what="its group"
            )
            await pilot.press("escape")
            await wait_for(
                pilot,
                lambda: (
                    app.screen is screen
                    and [g.state for g in screen.groups if g.id == "ALG-0004"] == ["declared"]
                ),
                what="the inbox re-read",
            )
            await pilot.press("d")  # declared already: refused, no dialog
            await pilot.pause()
            assert app.screen is screen
            await pilot.press("enter")  # on the declared group: its incident
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, IncidentScreen)
                    and app.screen.incident_id == view.incident
                ),
                what="the group's incident",
            )
    finally:
        app.session.close()


async def test_attach_to_an_open_incident_and_dismiss(tmp_path):
    app = _app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _inbox(app, pilot)
            _select(screen, "ALG-0002")
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal), what="picker")
            options = [value for value, _ in app.screen.options]
            assert "INC-0003" in options and "INC-0005" in options
            assert "INC-0001" not in options  # the drill's, resolved
            app.screen.query_one("#choices").highlighted = options.index("INC-0003")
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: app.session.alerts.get("ALG-0002").state == "attached",
                what="attached",
            )
            assert app.session.alerts.get("ALG-0002").incident == "INC-0003"
            texts = [e.text for e in app.session.incidents.events("INC-0003")]
            assert "attached alert group ALG-0002 (1 alerts)" in texts
            await wait_for(pilot, lambda: app.screen is screen, what="back on the inbox")
            _select(screen, "ALG-0001")
            await pilot.press("x")
            await wait_for(
                pilot,
                lambda: app.session.alerts.get("ALG-0001").state == "dismissed",
                what="dismissed",
            )
            # dismissed and resolved: it leaves the inbox once re-read
            await wait_for(
                pilot,
                lambda: "ALG-0001" not in [g.id for g in screen.groups],
                what="the inbox re-read",
            )
    finally:
        app.session.close()


async def _alertmanager(answers: list[tuple[int, object]]):
    """A tiny Alertmanager API v2: POST /api/v2/silences answers the next of ``answers``."""
    seen: list[tuple[dict, dict]] = []

    async def silences(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.json()))
        status, body = answers.pop(0)
        return web.json_response(body, status=status)

    webapp = web.Application()
    webapp.router.add_post("/api/v2/silences", silences)
    runner = web.AppRunner(webapp)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}", seen


async def test_silence_in_alertmanager(tmp_path):
    answers: list[tuple[int, object]] = [
        (400, "bad matcher: silence without matchers"),  # Alertmanager's 400: a JSON string
        (200, {"silenceID": "7f3e1a2b-0c4d-4e5f-8a9b-0c1d2e3f4a5b"}),
    ]
    runner, url, seen = await _alertmanager(answers)
    app = _app(tmp_path, alertmanager=url)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _inbox(app, pilot)
            _select(screen, "ALG-0003")  # the declared group: the silence lands on INC-0005
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SilenceModal), what="dialog")
            dialog = app.screen
            await pilot.press("ctrl+s")  # no comment: refused here, nothing sent
            assert "comment" in dialog.errors()["silence-comment"]
            assert seen == []
            dialog.query_one("#silence-duration", Input).value = "90 minutes"
            await pilot.press(*"rollback running")
            await pilot.press("ctrl+s")
            assert "silence-duration" in dialog.errors()
            dialog.query_one("#silence-duration", Input).value = "90m"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: dialog.errors(), what="Alertmanager's refusal")
            error = dialog.errors()["silence-comment"]
            assert "refused the silence: HTTP 400" in error and "\n" not in error
            assert app.screen is dialog  # kept open, the comment still typed
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen is screen, what="the dialog closed")
        _headers, body = seen[-1]
        assert body["comment"] == "rollback running" and body["createdBy"] == app.session.actor
        assert {m["name"]: m["value"] for m in body["matchers"]}["alertname"] == "FraudModelDown"
        ends = body["endsAt"]
        assert ends == (T0 + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
        view = app.session.alerts.get("ALG-0003")
        assert [s["id"] for s in view.row["silences"]] == ["7f3e1a2b-0c4d-4e5f-8a9b-0c1d2e3f4a5b"]
        events = app.session.incidents.events(view.incident)
        assert events[-1].kind == "alert_silenced" and "rollback running" in events[-1].text
    finally:
        app.session.close()
        await runner.cleanup()


async def test_a_group_received_elsewhere_appears_live(tmp_path):
    app = _app(tmp_path)
    other = None
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            screen = await _inbox(app, pilot)
            assert len(screen.groups) == 4
            # another process (the intake daemon) receives a new group into the same file
            other = Session(
                load_workspace(app.session.workspace.root / "oncall.yaml"),
                clock=FixedClock(T0 + timedelta(minutes=1)),
            )
            other.alerts.receive(
                payload(
                    alert(
                        "77aa00bb11cc22dd",
                        "TritonQueueTimeHigh",
                        service="gpu-inference",
                        starts=T0,
                        summary="queue time 800ms",
                    )
                )
            )
            await wait_for(
                pilot,
                lambda: screen.groups and screen.groups[0].title == "TritonQueueTimeHigh",
                what="the new group in the open inbox",
            )
            dash = app.screen_stack[0]
            await wait_for(
                pilot,
                lambda: "4 alert groups in the inbox" in str(dash.query_one(InboxBanner).render()),
                what="the dashboard's line",
            )
            await wait_for(  # App.notify posts a message: the toast is added when it is handled
                pilot,
                lambda: any(
                    # the inbox is open: no "press a" in it
                    n.message == "TritonQueueTimeHigh on gpu-inference SEV2 firing (ALG-0005)."
                    for n in app._notifications
                ),
                what="the new group's toast",
            )
    finally:
        if other is not None:
            other.close()
        app.session.close()


async def test_the_palette_opens_the_inbox(tmp_path):
    app = _app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            await pilot.press("ctrl+p")
            await pilot.press(*"alerts inbox")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, AlertsScreen) and app.screen.groups is not None,
                what="the inbox from the palette",
            )
    finally:
        app.session.close()


def test_the_alarm_and_the_line_words(tmp_path):
    from mlops_oncall.ui.widgets.inbox import alarm_text, inbox_line

    app = _app(tmp_path)
    try:
        groups = {g.id: g for g in app.session.alerts.groups()}
        latency, down = groups["ALG-0004"], groups["ALG-0003"]
        assert alarm_text([latency]) == (
            "FraudLatencyHigh on fraud-scoring SEV3 firing (ALG-0004). Press a for the inbox."
        )
        assert (
            alarm_text([down])
            == "FraudModelDown on fraud-scoring SEV1: ALG-0003 declared INC-0005."
        )
        assert alarm_text([latency, down], hint=False) == (
            "2 new alert groups, the newest FraudLatencyHigh on fraud-scoring SEV3."
        )
        assert inbox_line([]) is None
        assert inbox_line([latency]) == (
            "🔔 1 alert group in the inbox, 2 firing (a: open) · newest: FraudLatencyHigh on "
            "fraud-scoring SEV3"
        )
    finally:
        app.session.close()
