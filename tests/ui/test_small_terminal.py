"""80x24 is usable: the dashboard's checks take the width and every row can be scrolled to with
its whole name, the side panels come in on a key, dialogs keep their buttons on screen, and the
footer shows a screen's most important keys first with `?` for the rest."""

from __future__ import annotations

import io

from rich.console import Console
from textual.binding import Binding
from textual.widgets import Button, DataTable
from textual.widgets._footer import FooterKey

from mlops_oncall.bindings import BINDING_IDS
from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, fixed_views, make_workspace
from mlops_oncall.ui.modals import DeclareModal
from mlops_oncall.ui.screens.help import HelpScreen, keys_markdown
from mlops_oncall.ui.screens.incident import IncidentScreen
from mlops_oncall.ui.screens.triage import TriageScreen
from mlops_oncall.ui.widgets.lean_footer import fit

from .conftest import wait_for

SMALL = (80, 24)

# thirteen checks in three groups, as many as the demo has, with long names
MANY_CHECKS = "defaults: {interval: 30s, timeout: 1s}\nchecks:\n" + "".join(
    f"  - id: {group}.{name}\n    url: http://127.0.0.1:9/{n}\n    group: {group}\n"
    for n, (group, name) in enumerate(
        [("serving", f"model-{i}-ready-probe") for i in range(6)]
        + [("data", f"feature-store-{i}.freshness") for i in range(4)]
        + [("pipelines", f"nightly-training-{i}.last-success") for i in range(3)]
    )
)


def screen_text(app) -> str:
    """What the terminal shows, as plain text (the top screen over the ones beneath)."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True)
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


def on_top(app, widget) -> bool:
    """The widget is inside the screen and nothing covers the middle of it."""
    region = widget.region
    if not region or not app.screen.region.contains_region(region):
        return False
    found, _ = app.screen.get_widget_at(*region.center)
    return found is widget or widget in found.ancestors


def footer(app) -> list[FooterKey]:
    return list(app.screen.query(FooterKey))


def footer_labels(app) -> list[str]:
    return [k.description for k in footer(app) if "-command-palette" not in k.classes]


def _app(tmp_path, checks=FIXED_CHECKS) -> OncallApp:
    cfg = make_workspace(tmp_path, checks)
    return OncallApp(Session(load_workspace(cfg), clock=FixedClock(T0)), live=False)


async def _ready(app, pilot) -> None:
    await wait_for(pilot, lambda: app.ready, what="boot")
    await pilot.pause()


async def test_every_check_row_is_reachable_with_its_whole_name(tmp_path):
    app = _app(tmp_path, MANY_CHECKS)
    async with app.run_test(size=SMALL) as pilot:
        await _ready(app, pilot)
        table = app.screen.query_one("#checks-table", DataTable)
        ids = [k.value for k in table.rows if not k.value.startswith("group:")]
        assert len(ids) == 13
        for cid in ids:
            table.move_cursor(row=table.get_row_index(cid))
            await pilot.pause()
            assert cid in screen_text(app), f"{cid} not shown whole at 80x24"
        # the checks table is not squeezed beside the side panels
        assert table.region.width == SMALL[0]


async def test_narrow_dashboard_brings_the_incidents_in_on_a_key(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await _ready(app, pilot)
        checks = app.screen.query_one("#checks-table")
        incidents = app.screen.query_one("#incidents-table")
        assert on_top(app, checks) and not on_top(app, incidents)
        await pilot.press("i")
        await pilot.pause()
        assert on_top(app, incidents) and not on_top(app, checks)
        assert "Open incidents" in screen_text(app)
        await pilot.press("c")
        await pilot.pause()
        assert on_top(app, checks) and not on_top(app, incidents)


async def test_declare_dialog_buttons_are_on_screen_at_80x24(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await _ready(app, pilot)
        app.apply_views(fixed_views())
        await pilot.pause()
        table = app.screen.query_one("#checks-table", DataTable)
        table.move_cursor(row=table.get_row_index("fraud.ready"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeclareModal), what="declare")
        await pilot.pause()
        # check alarms keep coming while one declares: their toasts (bottom right) must not
        # cover the buttons
        app.notify("fraud.live is DOWN: no complete response within 1s. " * 3, timeout=60)
        await pilot.pause()
        buttons = list(app.screen.query(Button))
        assert {b.id for b in buttons} == {"cancel", "submit"}
        for button in buttons:
            assert on_top(app, button), f"{button.id} is off screen or covered at 80x24"
        # the fields scroll under the buttons: the last one can be reached, and then so can they
        dialog = app.screen.query_one("#declare-dialog")
        dialog.scroll_end(animate=False)
        await pilot.pause()
        for button in buttons:
            assert on_top(app, button)
        fields = [w for w in dialog.children if "buttons" not in w.classes]
        assert on_top(app, fields[-1]), "the dialog's last field is hidden under its buttons"


async def test_footer_holds_the_main_keys_at_80x24_and_more_when_wider(tmp_path):
    app = _app(tmp_path)
    svc = app.session.incidents
    rb = app.session.library.get("fraud-latency").runbook
    inc = svc.declare("Fraud model slow", "SEV2", service="fraud-scoring", runbook=rb)
    async with app.run_test(size=SMALL) as pilot:
        await _ready(app, pilot)
        labels = footer_labels(app)
        assert labels[:2] == ["Declare", "Incidents"] and labels[-1] in ("Help", "More")

        app.open_incident(inc.id)
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen), what="incident")
        await pilot.pause()
        labels = footer_labels(app)
        for key in ("Back", "Note", "Ack", "Mitigate", "Resolve", "Triage"):
            assert key in labels, f"{key} not in the incident footer at 80x24: {labels}"
        assert labels[-1] == "More"  # `?` stands for the keys left out
        for key in footer(app):
            assert app.screen.region.contains_region(key.region), key.description
        narrow = len(labels)

        await pilot.resize_terminal(160, 45)
        await pilot.pause()
        await pilot.pause()
        wide = footer_labels(app)
        assert len(wide) > narrow and "Severity" in wide and "Status" in wide

        await pilot.resize_terminal(*SMALL)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TriageScreen), what="triage")
        await pilot.pause()
        labels = footer_labels(app)
        for key in ("Back", "Done", "Skip", "Failed"):
            assert key in labels, f"{key} not in the triage footer at 80x24: {labels}"
        for key in footer(app):
            assert app.screen.region.contains_region(key.region), key.description


async def test_help_lists_every_key_and_has_its_own_footer(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await _ready(app, pilot)
        text = keys_markdown(app)
        missing = [bid for bid in BINDING_IDS if f"`{bid}`" not in text]
        assert not missing, f"help does not list {missing}"
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        assert footer_labels(app)[0] == "Close"


def test_fit_keeps_rank_order_and_the_help_key():
    def b(key, bid, description):
        return (Binding(key, bid, description, id=bid), key, description)

    entries = [
        b("r", "app.runbooks", "Runbooks"),  # shared: rank 2
        b("escape", "incident.back", "Back"),
        b("s", "incident.status", "Status"),  # the screen's other keys: rank 1
        b("?", "app.help", "Help"),
        b("n", "incident.note", "Note"),
    ]
    shown, dropped = fit(entries, 200)
    assert [entries[i][0].id for i in shown] == [
        "incident.back",
        "incident.note",
        "incident.status",
        "app.runbooks",
        "app.help",
    ]
    assert not dropped
    shown, dropped = fit(entries, 30)  # "escape Back" (13) and "n Note" (8) fit beside "? More" (8)
    assert [entries[i][0].id for i in shown] == ["incident.back", "incident.note", "app.help"]
    assert dropped


async def test_risk_register_titles_are_whole_at_80x24(tmp_path):
    from mlops_oncall.reports.risks import Risks
    from mlops_oncall.ui.screens.risks import RiskScreen

    app = _app(tmp_path)
    title = "Upstream schema changes are unannounced"
    Risks(app.session.store, clock=app.session.clock, actor="alice").add(title, 3, 4, "data-eng")
    async with app.run_test(size=SMALL) as pilot:
        await _ready(app, pilot)
        await pilot.press("g")
        await wait_for(
            pilot, lambda: isinstance(app.screen, RiskScreen) and app.screen.rows, what="risks"
        )
        await pilot.pause()
        assert title in screen_text(app)
        table = app.screen.query_one("#risks-table")
        detail = app.screen.query_one("#risk-detail-pane")
        assert table.region.width >= SMALL[0] - 4 and on_top(app, detail)
