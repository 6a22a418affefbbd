"""`drill from-incident`: a scenario written from a real incident's check transitions.

Each threshold crossing of the incident's checks becomes an inject at the same offset from
the first one, so a replay reproduces the order and spacing of what happened. A check going
bad becomes a fault chosen from its error class on the matching fake service; recovering
becomes a clear.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml

from mlops_oncall.drills.fake.catalog import SERVICES, faults_for
from mlops_oncall.formats.words import plural

# what a failure of each class looks like on a fake service
FAULT_FOR_CLASS = {
    "timeout": ("latency", {"ms": 2000}),
    "connect": ("refuse", {}),
    "dns": ("refuse", {}),
    "http_status": ("errors", {"rate": 1}),
    "body_parse": ("errors", {"rate": 1}),
    "condition": ("latency", {"ms": 400}),
}


def _at(seconds: float) -> str:
    return f"{round(seconds)}s"


def _fault(service: str, error_class: str | None, to_state: str) -> tuple[str, dict[str, Any]]:
    fault, params = FAULT_FOR_CLASS.get(error_class or "", ("errors", {"rate": 1}))
    if to_state == "degraded" and fault in ("refuse", "errors"):
        fault, params = "latency", {"ms": 400}
    if fault not in faults_for(service):
        fault, params = "errors", {"rate": 1}
    return fault, params


def scenario_from_incident(
    incidents, store, ref: str, *, target: str | None = None, runbook: str | None = None
) -> dict[str, Any]:
    from mlops_oncall.store.checks_history import transitions

    view = incidents.get(ref)
    r = view.row
    service = r["service"]
    fake = target or (service if service in SERVICES else "fraud-scoring")
    start = (r["impact_started_at"] or r["detected_at"] or r["declared_at"]) - timedelta(minutes=30)
    end = (r["resolved_at"] or incidents.clock.now()) + timedelta(minutes=30)
    moves = transitions(store, since=start, until=end)
    checks = {
        t["check_id"]
        for t in moves
        if (r["declared_from_check"] and t["check_id"] == r["declared_from_check"])
        or (service and t["service"] == service)
    }
    moves = [t for t in moves if t["check_id"] in checks]
    rb = runbook or (view.triage.runbook.id if view.triage else None)
    if rb is None:
        raise ValueError(f"{view.id} has no runbook attached; pass --runbook ID")
    injects: list[dict[str, Any]] = [
        {
            "at": "0s",
            "type": "message",
            "text": f"Replay of {view.id}: {r['title']}. You are on call for {service or fake}.",
        }
    ]
    t0 = moves[0]["at"] if moves else r["detected_at"]
    bad = False
    for t in moves:
        offset = (t["at"] - t0).total_seconds() + 30
        if t["to_state"] in ("degraded", "down"):
            if bad and t["to_state"] == "degraded":
                continue  # already failing; only a worsening needs a stronger fault
            fault, params = _fault(fake, t["error_class"], t["to_state"])
            inj = {"at": _at(offset), "type": "fault", "target": fake, "fault": fault}
            if params:
                inj["params"] = params
            if not bad:
                inj["expected_actions"] = ["acknowledge", "declare", f"attach_runbook:{rb}"]
            injects.append(inj)
            bad = True
        elif t["to_state"] == "up" and bad:
            injects.append(
                {
                    "at": _at(offset),
                    "type": "clear",
                    "target": fake,
                    "expected_actions": ["mitigate"],
                }
            )
            bad = False
    if len(injects) == 1:  # no recorded transitions: replay the declaration itself
        injects.append(
            {
                "at": "30s",
                "type": "fault",
                "target": fake,
                "fault": "errors",
                "params": {"rate": 1},
                "expected_actions": ["acknowledge", "declare", f"attach_runbook:{rb}"],
            }
        )
    if bad:
        last = max(int(i["at"][:-1]) for i in injects)
        injects.append(
            {
                "at": _at(last + 300),
                "type": "clear",
                "target": fake,
                "expected_actions": ["resolve"],
            }
        )
    slug = view.id.lower()
    return {
        "id": f"replay-{slug}",
        "title": f"Replay of {view.id}: {r['title']}"[:120],
        "difficulty": "medium",
        "description": f"Written by `mlops-oncall drill from-incident {view.id}` from {plural(len(moves), 'check transition')}.",
        "runbook": rb,
        "severity": r["severity"],
        "service": service,
        "injects": injects,
        "scoring": {"acknowledge_within": "5m", "declare_within": "10m", "runbook": rb},
        "debrief": ["Would the team find the cause faster now than in the real incident?"],
    }


def dump_scenario(data: dict[str, Any]) -> str:
    return "# Generated by mlops-oncall drill from-incident; edit freely.\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True
    )
