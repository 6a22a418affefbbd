"""feature-store: an ``application/health+json`` endpoint (IETF draft-inadarei-api-health-check).

Overall status is the worst of its checks; "fail" answers 503, as the draft asks of a
service that is down, "warn" still answers 200.
"""

from __future__ import annotations

from typing import Any

from mlops_oncall.drills.fake.httpd import Request, Response, json_response
from mlops_oncall.drills.fake.services.base import Handler, Service
from mlops_oncall.drills.fake.signals import iso, walk

HEALTH_JSON = "application/health+json"
MATERIALIZE_EVERY = 900  # seconds between offline-to-online materialisations
MATERIALIZE_TAKES = 120
FRESHNESS_WARN = 3600
FRESHNESS_FAIL = 6 * 3600
_RANK = {"pass": 0, "warn": 1, "fail": 2}


class FeatureStore(Service):
    name = "feature-store"

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {"/health": {"GET": self.health}}

    def freshness_seconds(self) -> int:
        now = self.now()
        stale = self.fault("stale")
        if stale and stale.since is not None:
            return round((now - stale.since).total_seconds() + stale.params["age"])
        return int(now.timestamp()) % MATERIALIZE_EVERY + MATERIALIZE_TAKES

    def health(self, req: Request) -> Response:
        now = self.now()
        when = iso(now)
        if self.fault("not_ready"):
            online: dict[str, Any] = {
                "componentId": "redis-online",
                "componentType": "datastore",
                "status": "fail",
                "output": "online store unreachable: connection refused",
                "time": when,
            }
        else:
            latency = round(walk(self.ctx.seed, "feature-store:latency", now, base=12, sigma=1))
            online = {
                "componentId": "redis-online",
                "componentType": "datastore",
                "observedValue": max(1, latency),
                "observedUnit": "ms",
                "status": "pass",
                "time": when,
            }
        age = self.freshness_seconds()
        fresh_status = (
            "fail" if age > FRESHNESS_FAIL else "warn" if age > FRESHNESS_WARN else "pass"
        )
        checks = {
            "online-store:latency": [online],
            "offline-store:freshness": [
                {
                    "componentId": "materialization",
                    "componentType": "component",
                    "observedValue": age,
                    "observedUnit": "s",
                    "status": fresh_status,
                    "time": when,
                }
            ],
        }
        status = max((e["status"] for es in checks.values() for e in es), key=_RANK.__getitem__)
        body = {
            "status": status,
            "version": "1",
            "serviceId": "feature-store",
            "description": "online and offline feature store",
            "checks": checks,
        }
        return json_response(body, 503 if status == "fail" else 200, content_type=HEALTH_JSON)
