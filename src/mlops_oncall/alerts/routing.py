"""Which incident an alert group becomes: the workspace's `alerts:` routes.

The first route whose matchers all match the group's labels decides; no route matching uses
`alerts:`'s own defaults. A group is routed on its common labels (the labels every alert of the
notification shares, group labels included, as Alertmanager computes them), so every alert of
a group lands in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_oncall.config import AlertRoute, AlertsConfig
from mlops_oncall.formats.matchers import Matcher, parse_matcher


@dataclass(frozen=True)
class Decision:
    route: str | None  # the matching route's name (or its index, "#2"); None: the defaults
    severity: str
    service: str | None
    runbook: str | None  # a runbook id named by the route or a `runbook` label
    runbook_url: str | None  # annotations.runbook_url, a link kept on the incident
    declare: bool


class Router:
    def __init__(self, config: AlertsConfig):
        self.config = config
        self._routes: list[tuple[AlertRoute, list[Matcher]]] = [
            (r, [parse_matcher(m) for m in r.matchers]) for r in config.routes
        ]

    def route(self, labels: dict[str, str]) -> tuple[str | None, AlertRoute | None]:
        for i, (route, matchers) in enumerate(self._routes, 1):
            if all(m.matches(labels) for m in matchers):
                return (route.name or f"#{i}"), route
        return None, None

    def decide(self, labels: dict[str, str], annotations: dict[str, str]) -> Decision:
        cfg = self.config
        name, route = self.route(labels)
        severity = (route.severity if route else None) or cfg.severities.get(
            labels.get("severity", "").lower(), cfg.default_severity
        )
        service_label = (route.service_label if route else None) or cfg.service_label
        service = (route.service if route else None) or labels.get(service_label) or None
        runbook = (route.runbook if route else None) or labels.get("runbook") or None
        declare = cfg.declare if route is None or route.declare is None else route.declare
        return Decision(
            route=name,
            severity=severity,
            service=service,
            runbook=runbook,
            runbook_url=annotations.get("runbook_url") or None,
            declare=declare,
        )
