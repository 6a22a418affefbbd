"""The Inject fault dialog against the real fake ML system: its own defaults are accepted for
every fault of every service, and a bad value keeps the dialog open with the reason."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static

from mlops_oncall.config import Config, Workspace
from mlops_oncall.drills.fake.catalog import SERVICES, faults_for
from mlops_oncall.drills.fake.faults import PARAMS, FaultError, parse_text
from mlops_oncall.drills.fake.system import FakeSystem
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.modals import InjectFaultModal

from .conftest import wait_for


@pytest.fixture
def fake():
    system = FakeSystem().start()
    yield system
    system.stop()


def _session(tmp_path, fake) -> Session:
    return Session(
        Workspace(config=Config(name="inject")),
        database_url=f"sqlite:///{tmp_path / 'i.db'}",
        fake_control_url=fake.control_url,
    )


async def _submit(dialog, pilot) -> None:
    """Enter in the parameters field submits, as the Inject button does."""
    dialog.query_one("#params", Input).focus()
    await pilot.pause()
    await pilot.press("enter")


async def _open_dialog(app, pilot, service: str, fault: str) -> InjectFaultModal:
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, InjectFaultModal), what="dialog")
    dialog = app.screen
    dialog.query_one("#service", Select).value = service
    await pilot.pause()
    dialog.query_one("#fault", Select).value = fault
    await wait_for(
        pilot,
        lambda: dialog.query_one("#params", Input).value == dialog.defaults.get(fault, ""),
        what=f"{fault}'s defaults in the field",
    )
    return dialog


async def test_every_fault_is_injected_with_the_dialogs_own_defaults(tmp_path, fake):
    session = _session(tmp_path, fake)
    app = OncallApp(session, flush_every=0.05)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        for service in SERVICES:
            for fault in faults_for(service):
                dialog = await _open_dialog(app, pilot, service, fault)
                await _submit(dialog, pilot)
                await wait_for(
                    pilot,
                    lambda s=service, f=fault: f in fake.state()["services"][s]["faults"],
                    what=f"{fault} on {service}",
                )
                assert not dialog.is_attached  # closed on success
                active = fake.state()["services"][service]["faults"][fault]["params"]
                assert set(active) == {p.name for p in PARAMS[fault]}
                for p in PARAMS[fault]:
                    assert active[p.name] == p.default
                fake.clear()
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors == []
    session.close()


async def test_a_bad_value_keeps_the_dialog_open_with_the_reason(tmp_path, fake):
    session = _session(tmp_path, fake)
    app = OncallApp(session, flush_every=0.05)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        dialog = await _open_dialog(app, pilot, "fraud-scoring", "errors")
        dialog.query_one("#params", Input).value = "rate=1.5"
        await _submit(dialog, pilot)
        await pilot.pause()
        assert app.screen is dialog
        message = str(dialog.query_one("#params-error", Static).render())
        assert "parameter 'rate' of fault 'errors' must be a number from 0 to 1, got 1.5" in message
        assert dialog.query_one("#params", Input).value == "rate=1.5"  # what was typed is kept
        # corrected, it goes through
        dialog.query_one("#params", Input).value = "rate=0.25"
        await _submit(dialog, pilot)
        await wait_for(
            pilot,
            lambda: "errors" in fake.state()["services"]["fraud-scoring"]["faults"],
            what="errors injected",
        )
        state = fake.state()["services"]["fraud-scoring"]["faults"]["errors"]
        assert state["params"] == {"rate": 0.25}
    session.close()


def test_typed_parameters_are_read_as_their_declared_type():
    assert parse_text("errors", "rate=0.5") == {"rate": 0.5}
    assert parse_text("latency", "ms=1000") == {"ms": 1000}
    assert parse_text("stale", "age=30h") == {"age": "30h"}
    assert parse_text("stale", "age=108000") == {"age": 108000}
    assert parse_text("drift", "score=0.35 over=10m") == {"score": 0.35, "over": "10m"}
    assert parse_text("latency", "ms=banana") == {"ms": "banana"}  # normalise() names it
    with pytest.raises(FaultError, match="'ms' is not key=value"):
        parse_text("latency", "ms")
