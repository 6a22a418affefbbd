"""The gallery's workspace: fixed checks, a fixed time and fixed check states.

Nothing here polls: the check states are built, not measured, so every picture of a screen is
the same on every machine. The snapshot tests use the same workspace.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.state import CheckView, RingEntry

# the gallery's own runbook library (one runbook, with a step that runs a command)
RUNBOOKS = Path(__file__).with_name("runbooks")

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

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


# Alertmanager's groups (ui/gallery/alerts.py): a model down declares at once, the rest wait in
# the inbox; silences go to ``alertmanager`` (nothing listens on port 9 unless a test says so)
ALERTS_YAML = """\
alerts:
  routes:
    - name: serving-down
      matchers: ['alertname="FraudModelDown"']
      declare: true
      runbook: fraud-latency
  alertmanager: {{url: "{url}"}}
"""


def make_workspace(
    tmp_path: Path,
    checks_text: str,
    *,
    allow_commands: bool = False,
    alertmanager: str = "http://127.0.0.1:9",
) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text(
        f"name: fraud-platform\nactor: alice\nrunbooks: [runbooks]\nallow_commands: {str(allow_commands).lower()}\ncommand_timeout: 5s\n"
        + ALERTS_YAML.format(url=alertmanager)
    )
    (ws / "checks.yaml").write_text(checks_text)
    shutil.copytree(RUNBOOKS, ws / "runbooks")
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
