"""The daemon's own metrics (GET /metrics), in a registry of its own: received, stored and
rejected (by reason) per endpoint, the store write latency, and prometheus_client's process
basics. Only the daemon imports prometheus_client."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# store writes are one transaction each: milliseconds on SQLite, more on a busy PostgreSQL
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self._received = Counter(
            "mlops_oncall_intake_received",
            "Requests received with a body to store, per endpoint.",
            ["endpoint"],
            registry=r,
        )
        self._stored = Counter(
            "mlops_oncall_intake_stored",
            "Events durably stored (answered 2xx), per endpoint.",
            ["endpoint"],
            registry=r,
        )
        self._rejected = Counter(
            "mlops_oncall_intake_rejected",
            "Requests refused, per endpoint and reason.",
            ["endpoint", "reason"],
            registry=r,
        )
        self._latency = Histogram(
            "mlops_oncall_intake_store_seconds",
            "Time to write one request's events to the store, per endpoint.",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=r,
        )

    def received(self, endpoint: str) -> None:
        self._received.labels(endpoint).inc()

    def stored(self, endpoint: str, seconds: float) -> None:
        self._stored.labels(endpoint).inc()
        self._latency.labels(endpoint).observe(seconds)

    def rejected(self, endpoint: str, reason: str) -> None:
        self._rejected.labels(endpoint, reason).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
