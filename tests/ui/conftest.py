"""TUI fixtures: the gallery's workspace (fixed checks, a fixed clock, seeded history), or
live checks against the real fake ML system on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, make_workspace


@pytest.fixture
def fixed_session(tmp_path):
    """A workspace with fixed checks (nothing polls), a fixed clock and seeded history."""
    from mlops_oncall.demo import seed

    cfg = make_workspace(tmp_path, FIXED_CHECKS)
    ws = load_workspace(cfg)
    session = Session(ws, clock=FixedClock(T0))
    seed(session, T0)
    yield session
    session.close()


async def wait_for(pilot, condition, timeout: float = 15.0, what: str = "condition"):
    """Let the app run until ``condition()`` holds (never a bare sleep as synchronisation)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
