"""An alert session on each backend, and Alertmanager webhook payloads (version 4) as
Alertmanager's notify/webhook sends them (template.Data plus version, groupKey and
truncatedAlerts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import Config, Workspace
from mlops_oncall.session import Session

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
GO_ZERO = "0001-01-01T00:00:00Z"


def make_session(tmp_path, url: str, alerts: dict | None = None, clock=None) -> Session:
    config = Config.model_validate({"me": "alice", "alerts": alerts or {}, "witness": False})
    return Session(
        Workspace(config, root=tmp_path), clock=clock or FixedClock(T0), database_url=url
    )


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def make(tmp_path, backend_url, clock):
    """make(alerts_config) -> a Session on this backend with that `alerts:` section."""
    made: list[Session] = []

    def build(alerts: dict | None = None) -> Session:
        s = make_session(tmp_path, backend_url, alerts, clock)
        made.append(s)
        return s

    yield build
    for s in made:
        s.close()


def alert(
    fingerprint: str,
    name: str = "ModelLatencyHigh",
    *,
    status: str = "firing",
    starts: datetime = T0 - timedelta(minutes=5),
    ends: datetime | None = None,
    labels: dict | None = None,
    annotations: dict | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "service": "fraud-api", "severity": "critical"}
        | (labels or {}),
        "annotations": {"summary": "p99 latency over 2s"} | (annotations or {}),
        "startsAt": starts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",  # Go writes nanoseconds
        "endsAt": ends.strftime("%Y-%m-%dT%H:%M:%SZ") if ends else GO_ZERO,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict, group_key: str = '{}:{alertname="ModelLatencyHigh"}', **top) -> dict:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "oncall",
        "groupLabels": {"alertname": "ModelLatencyHigh"},
        "commonLabels": {"alertname": "ModelLatencyHigh", "service": "fraud-api",
                         "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    } | top  # fmt: skip


def resolved(a: dict, at: datetime = T0) -> dict:
    return a | {"status": "resolved", "endsAt": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
