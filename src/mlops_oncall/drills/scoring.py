"""Scoring a drill from its timeline: targets met or missed, expected actions done, late or missed.

Every time is drill time: offsets from the drill's start, in the scenario's seconds (wall time
multiplied by the drill's speed), so a drill run at ten times speed scores the same as one run
in real time.

The score is the weighted share of targets passed (``scoring.weights`` in the scenario, 1 each
unless set). Only what the responder did earns points: a declaration the game master made at the
first fault (headless and live drills) does not pass "declare within", and a mitigation counts
only after a responder action (a command run, a runbook step done or a decision) between the
first fault and the mitigation, when a check then recovered or the scenario had not already
cleared the fault itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlops_oncall.drills.records import DrillRecords
from mlops_oncall.drills.scenario import Scenario
from mlops_oncall.formats.refs import drill_ref


def _events(incidents, refs: list[str]) -> list[Any]:
    """The drill incidents' events, each timeline up to the drill closing it, in time order."""
    out = []
    for ref in refs:
        for e in incidents.events(ref):
            if e.kind == "drill_ended":  # what follows is the drill closing it, not the responder
                break
            out.append(e)
    return sorted(out, key=lambda e: e.ts)


def _matches(action: str, ev) -> bool:
    kind = ev.kind
    data = ev.data
    head, _, rest = action.partition(":")
    if head == "acknowledge":
        return kind == "milestone" and data.get("name") == "acknowledged"
    if head == "declare":
        return kind == "declared"
    if head == "mitigate":
        return kind == "milestone" and data.get("name") == "mitigated"
    if head == "resolve":
        return kind == "milestone" and data.get("name") == "resolved"
    if head == "note":
        return kind == "note"
    if head == "attach_runbook":
        return kind == "runbook_attached" and data.get("runbook") == rest
    if head == "step":
        return kind == "step_done" and data.get("step") == rest
    if head == "decide":
        step, _, choice = rest.partition(":")
        return (
            kind == "decision"
            and data.get("step") == step
            and str(data.get("choice", "")).lower() == choice.lower()
        )
    if head == "assign":
        return kind == "role_assigned" and data.get("role") == rest
    return False


def _offset(ts: datetime, started: datetime) -> float:
    return (ts - started).total_seconds()


RESPONDER_ACTIONS = ("command_run", "step_done", "decision")


def _by_game_master(ev, mode: str) -> bool:
    """A declaration the drill made itself (it says so; older drills: every non-TUI run's)."""
    return ev.data.get("by") == "game_master" or (mode != "tui" and "by" not in ev.data)


def _mitigation(events, started, fault_at: float) -> tuple[float | None, str | None]:
    """When the responder's mitigation counts (drill seconds), or None and why not."""
    mitigated = next(
        (
            _offset(e.ts, started)
            for e in events
            if e.kind == "milestone" and e.data.get("name") == "mitigated"
        ),
        None,
    )
    if mitigated is None:
        return None, "not mitigated"
    acted = [
        _offset(e.ts, started)
        for e in events
        if e.kind in RESPONDER_ACTIONS and fault_at - 1e-6 <= _offset(e.ts, started) <= mitigated
    ]
    if not acted:
        return None, "mitigated with no responder action (command, step or decision) before it"
    first_action = min(acted)
    recovered = any(
        e.kind == "check_transition"
        and e.data.get("to") == "up"
        and _offset(e.ts, started) >= first_action
        for e in events
    )
    cleared_by_scenario = any(
        e.kind == "inject"
        and e.data.get("type") == "clear"
        and fault_at - 1e-6 <= _offset(e.ts, started) <= mitigated
        for e in events
    )
    if recovered or not cleared_by_scenario:
        return mitigated, None
    return (
        None,
        "the scenario cleared the fault before the mitigation, and no check recovered after a responder action",
    )


def actions_done(
    incidents, refs: list[str], actions: list[str], *, since_offset: float, started: datetime
) -> dict[str, bool]:
    """Which expected actions have happened on the drill's incidents (``refs``) since an
    inject (for contingency messages)."""
    events = _events(incidents, refs)
    out = {}
    for a in actions:
        out[a] = any(
            _matches(a, e) and _offset(e.ts, started) >= since_offset - 1e-6 for e in events
        )
    return out


def score_drill(records: DrillRecords, incidents, drill_id: int) -> dict[str, Any]:
    """The drill's score from its records and its incidents' timelines (drill time)."""
    row = records.get(drill_id)
    delivered = records.delivered(drill_id)
    ref = drill_ref(drill_id)
    scenario = Scenario.model_validate_json(row.scenario)
    started = row.started_at
    refs = records.incidents_of(ref)
    events = _events(incidents, refs)

    def first(action: str, since: float = 0.0) -> float | None:
        for e in events:
            off = _offset(e.ts, started)
            if off >= since - 1e-6 and _matches(action, e):
                return off
        return None

    fault_at = delivered.get(
        next((n for n, i in enumerate(scenario.injects) if i.type == "fault"), -1),
        scenario.first_fault.total_seconds() if scenario.first_fault is not None else 0.0,
    )
    targets = []
    sc = scenario.scoring
    weights = getattr(sc, "weights", None) or {}
    mode = row.mode
    for name, within in (
        ("acknowledge", sc.acknowledge_within),
        ("declare", sc.declare_within),
        ("mitigate", sc.mitigate_within),
    ):
        if within is None:
            continue
        why = None
        if name == "declare":
            declared = next((e for e in events if e.kind == "declared"), None)
            at = None if declared is None else _offset(declared.ts, started)
            if declared is not None and _by_game_master(declared, mode):
                at, why = None, "declared by the game master, not the responder"
        elif name == "mitigate":
            at, why = _mitigation(events, started, fault_at)
        else:
            at = first(name)
        took = None if at is None else max(0.0, at - fault_at)
        target = {
            "target": f"{name} within",
            "key": name,
            "weight": float(weights.get(name, 1.0)),
            "limit_seconds": within.total_seconds(),
            "seconds": took,
            "passed": took is not None and took <= within.total_seconds(),
        }
        if why:
            target["reason"] = why
        targets.append(target)
    if sc.runbook:
        attached = [e.data.get("runbook") for e in events if e.kind == "runbook_attached"]
        targets.append(
            {
                "target": "correct runbook attached",
                "key": "runbook",
                "weight": float(weights.get("runbook", 1.0)),
                "expected": sc.runbook,
                "attached": attached,
                "passed": bool(attached) and attached[0] == sc.runbook,
            }
        )
    if sc.steps:
        done = [s for s in sc.steps if first(f"step:{s}") is not None]
        targets.append(
            {
                "target": "expected steps done",
                "key": "steps",
                "weight": float(weights.get("steps", 1.0)),
                "expected": sc.steps,
                "done": done,
                "passed": len(done) == len(sc.steps),
            }
        )

    actions = []
    for number, inj in enumerate(scenario.injects):
        if not inj.expected_actions:
            continue
        since = delivered.get(number)
        deadline = (
            None
            if since is None
            else since
            + (
                inj.contingency.after.total_seconds()
                if inj.contingency
                else scenario.end.total_seconds()
            )
        )
        for a in inj.expected_actions:
            at = (
                None
                if since is None
                else first(a, 0.0 if a in ("declare", "acknowledge") else since)
            )
            if since is None:
                status = "not delivered"
            elif at is None:
                status = "missed"
            elif at <= deadline:
                status = "done"
            else:
                status = "late"
            actions.append(
                {
                    "inject": number,
                    "action": a,
                    "status": status,
                    "at_seconds": at,
                    "deadline_seconds": deadline,
                }
            )

    skipped = [e.data.get("step") for e in events if e.kind == "step_skipped"]
    total = sum(t["weight"] for t in targets)
    earned = sum(t["weight"] for t in targets if t["passed"])
    score = round(100.0 * earned / total, 1) if total else None
    return {
        "drill": ref,
        "scenario": scenario.id,
        "incidents": sorted(set(refs)),
        "score": score,
        "targets": targets,
        "actions": actions,
        "steps_skipped": skipped,
    }
