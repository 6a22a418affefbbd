"""The TUI says who you are in its header, and says it loudly when that is root by default."""

from __future__ import annotations

import getpass

from textual.widgets import Header

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS

from .conftest import wait_for


def _header(app) -> str:
    return str(app.screen.query_one(Header).format_title())


async def test_the_header_shows_the_actor(fixed_session):
    app = OncallApp(fixed_session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        assert _header(app) == "mlops-oncall — fraud-platform · you: tester"


async def test_root_by_default_is_shown_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_ONCALL_ACTOR", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text("name: fraud-platform\n")
    (ws / "checks.yaml").write_text(FIXED_CHECKS)
    session = Session(load_workspace(ws / "oncall.yaml"))
    app = OncallApp(session, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        assert _header(app).endswith(
            "fraud-platform · you: root — set me: in oncall.yaml (or --as NAME)"
        )
        view = session.incidents.declare("t", "SEV3")
        assert {e.actor for e in session.incidents.events(view.id)} == {"root"}
    session.close()


async def test_the_demo_header_names_its_persona(tmp_path, monkeypatch):
    from mlops_oncall.demo import DemoPlan

    monkeypatch.delenv("MLOPS_ONCALL_ACTOR", raising=False)
    plans = []

    def setup():
        plan = DemoPlan(calm=True, base=tmp_path / "demo", interval="30s")
        plans.append(plan)
        return plan.session, plan.story, plan.prepare, plan.seed

    app = OncallApp(setup=setup, title="demo · fake ML system", fake_system=True, live=False)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.ready, what="boot")
            assert _header(app) == "mlops-oncall — demo · fake ML system · you: demo-responder"
    finally:
        for plan in plans:
            plan.stop()
            plan.session.close()
