"""Assembling ``Facts`` from a workspace's services, which ``Session.readiness_facts`` passes
in (this layer does not import drills or reports): the service's checks probed once, the
runbook library, the finished drills and the open risks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mlops_oncall.readiness.evidence import CheckFact, Facts
from mlops_oncall.readiness.schema import ANY, Checklist


def checks_to_probe(checklist: Checklist, checkset: Any, service: str) -> list[Any]:
    """The service's checks, plus any other check an item names."""
    if checkset is None:
        return []
    named = {i.evidence.check for i in checklist.items if i.evidence.check not in (None, ANY)}
    return [s for s in checkset if s.service == service or s.id in named]


def probe(specs: list[Any], redactor: Any) -> dict[str, CheckFact]:
    """One round of ``specs`` (the `check run` round, without thresholds)."""
    if not specs:
        return {}
    from mlops_oncall.checks.poller import run_once
    from mlops_oncall.checks.probe import Prober

    async def go():
        async with Prober(redactor=redactor) as prober:
            return await run_once(specs, prober)

    results = asyncio.run(go())
    return {
        r.check_id: CheckFact(r.check_id, spec.service, r.state, r.message)
        for spec, r in zip(specs, results, strict=True)
    }


def gather(
    checklist: Checklist,
    *,
    service: str,
    now: Any,
    checkset: Any,
    redactor: Any,
    library: Any,
    drills: list[Any],
    risks: list[dict[str, Any]],
    incident_ids: set[str],
    states: dict[str, tuple[str, str]] | None = None,
    slos: Any = (),
) -> Facts:
    """``states``: the checks' current (state, message) as a monitor already knows them (the
    TUI's), used instead of probing; a check it does not hold counts as not polled."""
    facts = Facts(service=service, now=now)
    specs = checks_to_probe(checklist, checkset, service)
    if states is None:
        facts.checks = probe(specs, redactor)
    else:
        facts.checks = {
            s.id: CheckFact(s.id, s.service, *states.get(s.id, (None, "not polled yet")))
            for s in specs
        }
    for spec in checkset or ():
        if spec.service == service and spec.slo is not None:
            if spec.slo.availability is not None:
                facts.slos.add("availability")
            if spec.slo.latency is not None:
                facts.slos.add("latency")
    # an SLO of slos.yaml counts the service's checks' polls good or bad: an availability SLO
    own_checks = {spec.id for spec in checkset or () if spec.service == service}
    if any(own_checks & set(slo.checks) for slo in slos):
        facts.slos.add("availability")
    facts.runbooks = {e.id: tuple(e.summary.applies_to) for e in library.entries.values()}
    for d in drills:
        if d.status != "finished":
            continue
        try:
            runbook = json.loads(d.scenario).get("runbook")
        except (ValueError, AttributeError):
            continue
        if isinstance(runbook, str) and (
            runbook not in facts.drilled or d.started_at > facts.drilled[runbook]
        ):
            facts.drilled[runbook] = d.started_at
    mine = {r for r, applies in facts.runbooks.items() if service in applies}
    facts.risks = [r for r in risks if _concerns(r, service, mine, incident_ids)]
    return facts


def _concerns(risk: dict[str, Any], service: str, runbooks: set[str], incidents: set[str]) -> bool:
    """A risk is the service's when it is linked to one of its incidents or runbooks, or names
    the service in its title or description (risks have no service field)."""
    links = risk.get("links") or {}
    if set(links.get("runbooks", ())) & runbooks or set(links.get("incidents", ())) & incidents:
        return True
    text = f"{risk.get('title') or ''} {risk.get('description') or ''}".lower()
    return service.lower() in text
