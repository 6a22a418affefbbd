"""TUI fixtures: a workspace on a temp dir, a fixed clock, fixed check states, or live checks
against the real fake ML system on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.state import CheckView, RingEntry
from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from tests.conftest import FIXTURES

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
UI = FIXTURES / "ui"

FIXED_CHECKS = """\
defaults: {interval: 30s, timeout: 1s}
checks:
  - id: fraud
    name: Fraud model
    preset: oip_v2
    base_url: http://127.0.0.1:18001
    model: fraud
    group: serving
    service: fraud-scoring
    runbook: fraud-latency
    warn: ["[RESPONSE_TIME] < 250"]
  - id: gpu.memory
    url: http://127.0.0.1:18002/gpu
    group: serving
    service: gpu-inference
    conditions: ["[BODY].memory_used_percent < 95"]
  - id: feature-store
    preset: health_json
    url: http://127.0.0.1:18003/health
    group: data
    service: feature-store
  - id: training-pipeline.freshness
    url: http://127.0.0.1:18004/status
    group: pipelines
    service: training-pipeline
    conditions: ["age([BODY].last_success) < 26h"]
"""


def make_workspace(tmp_path: Path, checks_text: str, *, allow_commands: bool = False) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text(
        f"name: fraud-platform\nactor: alice\nrunbooks: [runbooks]\nallow_commands: {str(allow_commands).lower()}\ncommand_timeout: 5s\n"
    )
    (ws / "checks.yaml").write_text(checks_text)
    shutil.copytree(UI / "runbooks", ws / "runbooks")
    return ws / "oncall.yaml"


def result(check_id, state, *, latency=12.0, error_class=None, message="", at=T0, service=None):
    return Result(
        check_id,
        state,
        error_class,
        message,
        latency if state != "down" else None,
        200 if state != "down" else None,
        [],
        at,
        service,
    )


def view(check_id, state, *, since=T0 - timedelta(minutes=5), first_failure=None, blocked=(), **kw):
    last = result(check_id, state, **kw)
    ring = tuple(
        RingEntry(T0 - timedelta(seconds=30 * i), "up", 10.0 + i * 3, None)
        for i in range(10, 0, -1)
    )
    ring += (RingEntry(T0, state, last.latency_ms, last.error_class),)
    return CheckView(check_id, state, since, first_failure, tuple(blocked), last, ring, None)


def fixed_views():
    return [
        view("fraud.live", "up", service="fraud-scoring"),
        view(
            "fraud.ready",
            "down",
            error_class="timeout",
            message="no complete response within 1s",
            first_failure=T0 - timedelta(minutes=3),
            since=T0 - timedelta(minutes=2),
            service="fraud-scoring",
        ),
        view(
            "fraud.model-ready",
            "down",
            error_class="timeout",
            message="no complete response within 1s",
            blocked=("fraud.ready",),
            since=T0 - timedelta(minutes=2),
            service="fraud-scoring",
        ),
        view(
            "gpu.memory",
            "degraded",
            latency=310.0,
            error_class="condition",
            message="[BODY].memory_used_percent = 91, expected < 85",
            since=T0 - timedelta(minutes=9),
        ),
        view("feature-store.health", "up"),
        view("training-pipeline.freshness", "up", since=T0 - timedelta(hours=5)),
    ]


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
