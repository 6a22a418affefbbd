"""Alert groups for the gallery's workspace, received through ``Session.alerts.receive`` as
Alertmanager's webhook (payload version 4, notify/webhook in Alertmanager's repository) posts
them: two groups waiting in the inbox, one whose alerts all resolved, and one the workspace's
``serving-down`` route declared at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mlops_oncall.ui.gallery.workspace import T0

GO_ZERO = "0001-01-01T00:00:00Z"  # Go's zero time: an alert still firing has no end


def alert(
    fingerprint: str,
    name: str,
    *,
    service: str,
    severity: str = "page",
    status: str = "firing",
    starts: datetime,
    ends: datetime | None = None,
    labels: dict[str, str] | None = None,
    summary: str = "",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "service": service, "severity": severity} | (labels or {}),
        "annotations": {"summary": summary} if summary else {},
        "startsAt": starts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "endsAt": ends.strftime("%Y-%m-%dT%H:%M:%SZ") if ends else GO_ZERO,
        "generatorURL": f"http://prometheus:9090/graph?g0.expr=ALERTS%7Balertname%3D%22{name}%22%7D",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any], group_by: str = "alertname") -> dict[str, Any]:
    """One notification of the group ``alerts`` make (grouped by alert name, as the route's
    ``group_by`` says)."""
    first = alerts[0]["labels"]
    shared = {k: v for k, v in first.items() if all(a["labels"].get(k) == v for a in alerts)}
    group = {group_by: first[group_by]}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{{group_by}="{first[group_by]}"}}',
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "oncall",
        "groupLabels": group,
        "commonLabels": shared,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def latency_alerts(status: str = "firing", ends: datetime | None = None) -> dict[str, Any]:
    """The inbox's newest group: fraud-scoring's p99 on two pods."""
    return payload(
        *(
            alert(
                f"f1a7e0c0ffee000{i}",
                "FraudLatencyHigh",
                service="fraud-scoring",
                severity="warning",
                status=status,
                ends=ends,
                starts=T0 - timedelta(minutes=6),
                labels={"pod": f"fraud-scoring-7d9f-{pod}", "namespace": "serving"},
                summary=f"p99 latency 1.4s over 5m on {pod} (SLO 250ms)",
            )
            for i, pod in enumerate(("x2k4p", "q8m1z"), start=1)
        )
    )


def seed_alerts(session) -> None:
    """The gallery's groups, received at fixed times on the session's fixed clock."""
    clock = session.clock
    alerts = session.alerts
    clock.set(T0 - timedelta(hours=3))
    gpu = alert(
        "9a0b1c2d3e4f5061",
        "GPUMemoryHigh",
        service="gpu-inference",
        severity="warning",
        starts=T0 - timedelta(hours=3, minutes=2),
        labels={"gpu": "3", "node": "gpu-node-2"},
        summary="GPU 3 memory at 97% for 10m",
    )
    alerts.receive(payload(gpu))
    clock.set(T0 - timedelta(hours=2, minutes=40))
    resolved = gpu | {"status": "resolved", "endsAt": "2026-11-28T00:18:00Z"}
    alerts.receive(payload(resolved))
    clock.set(T0 - timedelta(minutes=25))
    alerts.receive(
        payload(
            alert(
                "5e6f7a8b9c0d1e2f",
                "FeatureStoreLagHigh",
                service="feature-store",
                severity="warning",
                starts=T0 - timedelta(minutes=27),
                labels={"table": "card_velocity"},
                summary="card_velocity features 14 min behind (limit 5 min)",
            )
        )
    )
    clock.set(T0 - timedelta(minutes=8))
    alerts.receive(  # the serving-down route declares it at once
        payload(
            alert(
                "0d0e0a0d0b0e0e0f",
                "FraudModelDown",
                service="fraud-scoring",
                severity="critical",
                starts=T0 - timedelta(minutes=9),
                labels={"model": "fraud", "version": "43"},
                summary="fraud model not ready on 3 of 4 replicas",
            )
        )
    )
    clock.set(T0 - timedelta(minutes=3))
    alerts.receive(latency_alerts())
    clock.set(T0)
