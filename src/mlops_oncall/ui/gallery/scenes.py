"""Every screen and modal in a fixed state: a fixed clock, fixed check states, seeded history.

Used by the snapshot tests (tests/ui/test_snapshots.py) and by scripts/screenshots.py, so the
README's pictures and the pinned snapshots are the same scenes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from textual.widgets import DataTable, Input

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, fixed_views, make_workspace

# every scene is pinned at a roomy terminal and at the smallest one we support
SIZES = ((160, 45), (80, 24))
SIZE = SIZES[0]  # the README's pictures


@dataclass
class Scene:
    name: str
    title: str
    run: Callable[[OncallApp, object], Awaitable[None]]
    allow_commands: bool = False


def build_app(
    tmp: Path, *, allow_commands: bool = False, alertmanager: str = "http://127.0.0.1:9"
) -> OncallApp:
    from mlops_oncall.demo import seed

    cfg = make_workspace(
        tmp, FIXED_CHECKS, allow_commands=allow_commands, alertmanager=alertmanager
    )
    clock = FixedClock(T0)
    session = Session(load_workspace(cfg), clock=clock, fake_control_url="http://127.0.0.1:9/")
    seed(session, T0)
    # an open incident with some history, worked a little
    clock.set(T0 - timedelta(minutes=14))
    svc = session.incidents
    rb = session.library.get("fraud-latency").runbook
    inc = svc.declare(
        "Fraud model ready probe timing out",
        "SEV2",
        service="fraud-scoring",
        runbook=rb,
        detected_at=T0 - timedelta(minutes=16),
        declared_from_check="fraud.ready",
    )
    clock.set(T0 - timedelta(minutes=12))
    svc.ack(inc.id)
    svc.assign(inc.id, "commander", "alice")
    svc.note(inc.id, "p99 at 1.4 s since 02:44; v43 promoted at 02:41")
    svc.step(inc.id, "what-changed", "done", note="fraud-scoring v43 promoted 02:41")
    clock.set(T0 - timedelta(minutes=9))
    svc.action_add(
        inc.id, "Gate model promotion on canary p99", type="prevent", owner="ml-platform"
    )
    svc.set_field(inc.id, "lucky", "The rollout happened at night, with low traffic")
    # the risk register: one overdue for review, one reviewed, one low
    risks = session.risks_as("alice")
    clock.set(T0 - timedelta(days=40))
    risks.add(
        "Model promotions skip the canary",
        4,
        4,
        "ml-platform",
        category="model-quality",
        description="No gate in CI -> a bad model reaches all traffic -> fraud scoring times out",
        mitigation="Block promotion unless the canary ran",
        incidents=[inc.id],
    )
    risks.add(
        "Upstream schema changes are unannounced",
        3,
        4,
        "data-eng",
        category="data-dependency",
        mitigation="Contract tests on the ingest job",
    )
    clock.set(T0 - timedelta(days=3))
    risks.review("R-002", 2, 4, note="contract tests landed for two of three sources")
    risks.add("GPU quota runs out at month end", 2, 2, "platform", category="cost")
    _seed_drill(session, clock)
    clock.set(T0)
    return OncallApp(session, live=False)


def _seed_drill(session, clock) -> None:
    """A finished drill, as a headless run would leave it: late to acknowledge, wrong runbook."""
    from mlops_oncall.drills.library import find_scenario
    from mlops_oncall.drills.records import Delivery, DrillRecords

    sc = find_scenario("latency-after-rollout", None).scenario
    start = T0 - timedelta(hours=3)
    records = DrillRecords(session.store, clock, actor="alice")
    did = records.begin(sc, mode="headless", speed=1.0, started_at=start)
    for n, inj in enumerate(sc.injects):
        records.deliver(
            did,
            Delivery(
                type=inj.type,
                offset_s=inj.at.total_seconds(),
                at=start + inj.at,
                number=n,
                target=inj.target,
                fault=inj.fault,
                params=inj.params,
                text=inj.text,
            ),
        )
    clock.set(start + sc.end)
    records.finish(did, {"score": None})
    svc = session.incidents
    clock.set(start + timedelta(seconds=31))
    inc = svc.declare(
        f"[drill] {sc.title}", "SEV2", service="fraud-scoring", drill=True, drill_id="DRILL-0001"
    )
    clock.set(start + timedelta(minutes=7))
    svc.ack(inc.id)
    svc.attach(inc.id, session.library.get("gpu-oom").runbook)
    svc.step(inc.id, "what-changed", "done")
    clock.set(start + timedelta(minutes=11))
    svc.mitigate(inc.id)


async def _ready(app: OncallApp, pilot) -> None:
    while not app.ready:
        await pilot.pause(0.02)
    app.apply_views(fixed_views())
    await pilot.pause()
    from mlops_oncall.ui.screens.dashboard import DashboardScreen

    dash = app.screen
    if isinstance(dash, DashboardScreen):
        dash.refresh_lists()
        await app.workers.wait_for_complete()
        await pilot.pause()
        t = dash.query_one("#checks-table", DataTable)
        t.move_cursor(row=t.get_row_index("fraud.ready"))
        await pilot.pause()


async def _settle(app: OncallApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    for inp in app.screen.query(Input):
        inp.cursor_blink = False
    await pilot.pause()


async def _until(pilot, cond) -> None:
    for _ in range(400):
        if cond():
            return
        await pilot.pause(0.02)
    raise AssertionError("scene did not reach its state")


async def dashboard(app, pilot):
    await _ready(app, pilot)
    await _settle(app, pilot)


async def declare(app, pilot):
    from mlops_oncall.ui.modals import ConfirmModal, DeclareModal

    await _ready(app, pilot)
    await pilot.press("d")
    # the seeded failing check already has an open incident: the app asks before a second one
    await _until(pilot, lambda: isinstance(app.screen, DeclareModal | ConfirmModal))
    if isinstance(app.screen, ConfirmModal):
        await pilot.press("y")
        await _until(pilot, lambda: isinstance(app.screen, DeclareModal))
    await _settle(app, pilot)


async def _slos(app, pilot) -> None:
    """docs/slo.md's worked example (ui/gallery/slos.py): fraud-availability pages."""
    from mlops_oncall.ui.gallery.slos import install

    await _ready(app, pilot)
    install(app.session.workspace.root, app.session.store, T0)
    app.start_slos()
    await _until(pilot, lambda: app.slo_statuses is not None)


async def dashboard_slos(app, pilot):
    await _slos(app, pilot)
    await _settle(app, pilot)


async def declare_slo(app, pilot):
    from mlops_oncall.ui.modals import ConfirmModal, DeclareModal

    await _slos(app, pilot)
    app.clear_notifications()  # the alarm is dashboard-slos's picture
    await pilot.press("d")
    await _until(pilot, lambda: isinstance(app.screen, DeclareModal | ConfirmModal))
    if isinstance(app.screen, ConfirmModal):
        await pilot.press("y")
        await _until(pilot, lambda: isinstance(app.screen, DeclareModal))
    await _settle(app, pilot)


async def runbooks(app, pilot):
    from mlops_oncall.ui.screens.runbooks import RunbooksScreen

    await _ready(app, pilot)
    await pilot.press("r")
    await _until(pilot, lambda: isinstance(app.screen, RunbooksScreen) and app.screen.shown)
    await _settle(app, pilot)


async def runbooks_search(app, pilot):
    from mlops_oncall.ui.screens.runbooks import RunbooksScreen

    await _ready(app, pilot)
    await pilot.press("r")
    await _until(pilot, lambda: isinstance(app.screen, RunbooksScreen))
    await pilot.press(*"drift")
    await _until(pilot, lambda: app.screen.shown == "data-drift")
    await _settle(app, pilot)


async def incident(app, pilot):
    from mlops_oncall.ui.screens.incident import IncidentScreen

    await _ready(app, pilot)
    app.open_incident("INC-0003")
    await _until(
        pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None
    )
    await _settle(app, pilot)


async def _incident_then(app, pilot, *keys):
    await incident(app, pilot)
    await pilot.press(*keys)
    await pilot.pause()
    await _settle(app, pilot)


async def status_modal(app, pilot):
    await _incident_then(app, pilot, "s")


async def severity_modal(app, pilot):
    await _incident_then(app, pilot, "v")


async def role_modal(app, pilot):
    await _incident_then(app, pilot, "o")


async def action_refused(app, pilot):
    """A due date that cannot be read: the dialog stays open, the reason under the field."""
    await _incident_then(app, pilot, "A")
    screen = app.screen
    screen.query_one("#text", Input).value = "Gate model promotion on canary p99"
    screen.query_one("#owner", Input).value = "ml-platform"
    screen.query_one("#due", Input).value = "12/20"
    screen.query_one("#due", Input).focus()
    await pilot.press("enter")
    await _until(pilot, lambda: screen.errors())
    await _settle(app, pilot)


async def milestones_modal(app, pilot):
    await _incident_then(app, pilot, "M")


async def mitigate_unfinished(app, pilot):
    from mlops_oncall.ui.modals import ConfirmModal

    await incident(app, pilot)
    await pilot.press("m")
    await _until(pilot, lambda: isinstance(app.screen, ConfirmModal))
    await _settle(app, pilot)


async def action_modal(app, pilot):
    await _incident_then(app, pilot, "A")


async def incident_note(app, pilot):
    await _incident_then(app, pilot, "n")
    await pilot.press(*"rolled back to v42")
    await _settle(app, pilot)


async def refused_runbooks(app, pilot):
    from mlops_oncall.ui.modals import RefusedRunbooksModal

    await _ready(app, pilot)
    # fixed lines, as the loader words them: the scene must not depend on a broken file
    app.push_screen(
        RefusedRunbooksModal(
            [
                "runbooks/fraud-rollback.yaml:14:9: steps[2].next: 'verfy' is not a step of "
                "this runbook (did you mean 'verify'?) (runbook refused)",
                "runbooks/drift.yaml:3:11: severity: expected one of SEV1, SEV2, SEV3, SEV4, "
                "got 'high' (runbook refused)",
            ]
        )
    )
    await _until(pilot, lambda: isinstance(app.screen, RefusedRunbooksModal))
    await _settle(app, pilot)


async def incidents(app, pilot):
    from mlops_oncall.ui.screens.incidents import IncidentsScreen

    await _ready(app, pilot)
    await pilot.press("h")
    await _until(pilot, lambda: isinstance(app.screen, IncidentsScreen) and app.screen.loaded)
    await pilot.press("ctrl+f")  # all: open, resolved and the drill
    await _settle(app, pilot)


async def timeline_entry(app, pilot):
    from mlops_oncall.ui.timeline_entry import TimelineEntryModal

    await incident(app, pilot)
    await pilot.press("enter")  # the newest row: the `lucky` field, longer than its cell
    await _until(pilot, lambda: isinstance(app.screen, TimelineEntryModal) and app.screen.shown)
    await _settle(app, pilot)


async def triage(app, pilot):
    from mlops_oncall.ui.screens.triage import TriageScreen

    await incident(app, pilot)
    await pilot.press("t")
    await _until(
        pilot, lambda: isinstance(app.screen, TriageScreen) and app.screen.state is not None
    )
    await _settle(app, pilot)


async def triage_escalation(app, pilot):
    await triage(app, pilot)
    app.session.clock.advance(timedelta(minutes=20))  # 34 min in; the runbook says 30m
    app.screen.check_escalation()
    await _settle(app, pilot)


async def note_modal(app, pilot):
    await triage(app, pilot)
    await pilot.press("D")
    await pilot.pause()
    await _settle(app, pilot)


async def confirm_command(app, pilot):
    from mlops_oncall.ui.modals import ConfirmCommandModal

    await triage(app, pilot)
    await pilot.press("1")  # Yes: a rollout -> the rollback step
    await _until(
        pilot, lambda: app.screen.state is not None and app.screen.state.current == "rollback"
    )
    await pilot.press("e")
    await _until(pilot, lambda: isinstance(app.screen, ConfirmCommandModal))
    await _settle(app, pilot)


async def inject_fault(app, pilot):
    from mlops_oncall.ui.modals import InjectFaultModal

    await _ready(app, pilot)
    await pilot.press("f")
    await _until(pilot, lambda: isinstance(app.screen, InjectFaultModal))
    await _settle(app, pilot)


async def help_screen(app, pilot):
    from mlops_oncall.ui.screens.help import HelpScreen

    await _ready(app, pilot)
    await pilot.press("question_mark")
    await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
    await _settle(app, pilot)


async def palette(app, pilot):
    await _ready(app, pilot)
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    # a query, because the order in which providers discover commands is not fixed
    await pilot.press(*"fault")
    await pilot.pause(0.4)
    await _settle(app, pilot)


async def postmortem(app, pilot):
    from mlops_oncall.ui.screens.postmortem import PostmortemScreen

    await incident(app, pilot)
    await pilot.press("P")
    await _until(
        pilot, lambda: isinstance(app.screen, PostmortemScreen) and app.screen.context is not None
    )
    await pilot.pause(0.4)
    await _settle(app, pilot)


async def candidate_risks(app, pilot):
    from mlops_oncall.ui.screens.risks import CandidateRisksModal

    await postmortem(app, pilot)
    await pilot.press("ctrl+k")
    await _until(pilot, lambda: isinstance(app.screen, CandidateRisksModal) and app.screen.items)
    await _settle(app, pilot)


async def risks(app, pilot):
    from mlops_oncall.ui.screens.risks import RiskScreen

    await _ready(app, pilot)
    await pilot.press("g")
    await _until(pilot, lambda: isinstance(app.screen, RiskScreen) and app.screen.rows)
    await _settle(app, pilot)


async def handoff(app, pilot):
    from mlops_oncall.ui.screens.handoff import HandoffScreen

    await _ready(app, pilot)
    await pilot.press("s")
    await _until(pilot, lambda: isinstance(app.screen, HandoffScreen) and app.screen.context)
    await _settle(app, pilot)


async def readiness(app, pilot):
    from mlops_oncall.ui.screens.readiness import ReadinessScreen

    await _ready(app, pilot)
    await pilot.press("p")
    await _until(pilot, lambda: isinstance(app.screen, ReadinessScreen) and app.screen.findings)
    for key in ("down", "y", "y", "p"):  # answer three of the asked items
        await pilot.press(key)
    await _settle(app, pilot)


async def debrief(app, pilot):
    from mlops_oncall.ui.screens.debrief import DebriefScreen

    await _ready(app, pilot)
    app.action_debrief()
    await _until(pilot, lambda: isinstance(app.screen, DebriefScreen) and app.screen.items)
    await _settle(app, pilot)


async def _alerts(app, pilot):
    from mlops_oncall.ui.gallery.alerts import seed_alerts
    from mlops_oncall.ui.screens.alerts import AlertsScreen
    from mlops_oncall.ui.widgets.inbox import InboxBanner

    seed_alerts(app.session)
    await _ready(app, pilot)
    await _until(pilot, lambda: app.screen.query_one(InboxBanner).has_class("-on"))
    app.clear_notifications()  # the groups seeded before the app started are not new
    await pilot.press("a")
    await _until(pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen.groups)


async def dashboard_alerts(app, pilot):
    from mlops_oncall.ui.gallery.alerts import seed_alerts
    from mlops_oncall.ui.widgets.inbox import InboxBanner

    seed_alerts(app.session)
    await _ready(app, pilot)
    await _until(pilot, lambda: app.screen.query_one(InboxBanner).has_class("-on"))
    app.clear_notifications()  # seeded while the app started: not an alarm to picture
    await _settle(app, pilot)


async def alerts(app, pilot):
    await _alerts(app, pilot)
    await _settle(app, pilot)


async def alerts_declare(app, pilot):
    from mlops_oncall.ui.modals import DeclareModal

    await _alerts(app, pilot)
    await pilot.press("d")
    await _until(pilot, lambda: isinstance(app.screen, DeclareModal))
    await _settle(app, pilot)


async def alerts_silence(app, pilot):
    from mlops_oncall.ui.screens.alert_dialogs import SilenceModal

    await _alerts(app, pilot)
    await pilot.press("s")
    await _until(pilot, lambda: isinstance(app.screen, SilenceModal))
    await pilot.press(*"rollback to v42 running, ask alice")
    await _settle(app, pilot)


SCENES = [
    Scene("dashboard", "Dashboard: checks, open incidents, what changed", dashboard),
    Scene("declare", "Declare from a failing check, prefilled", declare),
    Scene("runbooks", "Runbooks, with what fits the failures pinned", runbooks),
    Scene("runbooks-search", "Runbook search as you type", runbooks_search),
    Scene("incident", "Incident: header, live timeline, actions", incident),
    Scene("incident-status", "Status modal", status_modal),
    Scene("incident-severity", "Severity modal", severity_modal),
    Scene("incident-role", "Role modal", role_modal),
    Scene("incident-action", "Action item modal", action_modal),
    Scene("incident-action-refused", "A refused due date, kept open", action_refused),
    Scene("incident-milestones", "Milestone correction (impact_started)", milestones_modal),
    Scene("incident-mitigate", "Mitigate with things unfinished", mitigate_unfinished),
    Scene("incident-note", "A note typed into the incident's timeline", incident_note),
    Scene("incidents", "Incident history: filter and search as you type", incidents),
    Scene("timeline-entry", "A whole timeline entry (enter on a row)", timeline_entry),
    Scene("triage", "Triage stepper at a decision", triage),
    Scene("triage-escalation", "Escalation warning", triage_escalation),
    Scene("triage-note", "Outcome with a note", note_modal),
    Scene(
        "confirm-command",
        "Running a step's command, after confirmation",
        confirm_command,
        allow_commands=True,
    ),
    Scene("inject-fault", "Inject a fault into the fake ML system", inject_fault),
    Scene("help", "Help: keys and binding ids", help_screen),
    Scene("refused-runbooks", "Why each refused runbook was refused", refused_runbooks),
    Scene("palette", "Command palette", palette),
    Scene("postmortem", "Postmortem: narrative with a live preview", postmortem),
    Scene("candidate-risks", "Candidate risks after a postmortem", candidate_risks),
    Scene("risks", "Risk register, by score, overdue reviews highlighted", risks),
    Scene("handoff", "Shift hand-off: the note for the next shift", handoff),
    Scene("debrief", "Drill debrief: scored from the timeline; accept improvements", debrief),
    Scene("readiness", "Production readiness: pre-filled evidence, answered with a key", readiness),
    Scene("dashboard-alerts", "Dashboard: alert groups waiting in the inbox", dashboard_alerts),
    Scene("alerts", "Alerts inbox: groups as Alertmanager grouped them, their alerts", alerts),
    Scene("alerts-declare", "Declare from an alert group, prefilled", alerts_declare),
    Scene("alerts-silence", "Silence a group in Alertmanager, with a comment", alerts_silence),
    Scene("dashboard-slos", "Dashboard: SLO budgets, one burning, and its alarm", dashboard_slos),
    Scene("declare-slo", "Declare: the budget the check's SLO burned so far", declare_slo),
]
