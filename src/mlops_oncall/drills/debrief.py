"""The drill debrief: targets, expected actions, skipped steps, a hot wash, improvement items.

Improvement items are proposals. Accepting one (``drill debrief ID --accept N``, or in the TUI)
turns it into a real action item on the drill's incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_oncall.drills.scenario import Scenario
from mlops_oncall.drills.scoring import score_drill
from mlops_oncall.formats.durations import format_duration
from mlops_oncall.formats.refs import drill_ref
from mlops_oncall.formats.timestamps import utc_stamp

if TYPE_CHECKING:
    from mlops_oncall.store.models import ActionItem


@dataclass
class Improvement:
    number: int
    text: str
    type: str  # process | prevent
    owner: str


def improvements(result: dict[str, Any], scenario: Scenario) -> list[Improvement]:
    items: list[str] = []
    for t in result["targets"]:
        if t["passed"]:
            continue
        if t.get("key") == "declare" and t.get("reason"):
            continue  # the drill declared it itself: nothing for the responder to practise
        if "limit_seconds" in t:
            took = "not done" if t["seconds"] is None else f"took {format_duration(t['seconds'])}"
            took = t.get("reason") or took
            items.append(
                f"Practise to {t['target']} {format_duration(t['limit_seconds'])} ({took})"
            )
        elif t["target"] == "correct runbook attached":
            got = ", ".join(t["attached"]) or "none"
            items.append(
                f"Make '{t['expected']}' easier to find for this failure (attached: {got}): review its triggers"
            )
        elif t["target"] == "expected steps done":
            missing = [s for s in t["expected"] if s not in t["done"]]
            items.append(
                f"Walk through runbook steps {', '.join(missing)} of '{scenario.runbook}' with the team"
            )
    for step in dict.fromkeys(result["steps_skipped"]):
        items.append(f"Find out why step '{step}' was skipped: fix or remove it from the runbook")
    return [Improvement(i, text, "process", "on-call lead") for i, text in enumerate(items, 1)]


def _when(seconds: float | None) -> str:
    return "–" if seconds is None else f"+{format_duration(seconds)}"


def no_items_line(result: dict[str, Any]) -> str:
    """What stands in for the improvement items when there are none; "every target was met"
    only when there were targets to meet."""
    if not result["targets"]:
        return "None: this scenario sets no scoring targets."
    return "None: every target was met."


def debrief_markdown(records, incidents, drill_id: int) -> tuple[str, list[Improvement]]:
    text, items, _ = debrief(records, incidents, drill_id)
    return text, items


def debrief(records, incidents, drill_id: int) -> tuple[str, list[Improvement], str]:
    """The debrief's Markdown, its improvement items, and the line shown when there are none."""
    row = records.get(drill_id)
    scenario = Scenario.model_validate_json(row.scenario)
    result = score_drill(records, incidents, drill_id)
    items = improvements(result, scenario)
    ref = drill_ref(drill_id)
    lines = [
        f"# Drill debrief: {scenario.title}",
        "",
        f"- **Drill:** {ref} ({row.mode}, speed ×{row.speed:g}), scenario `{scenario.id}` ({scenario.difficulty})",
        f"- **Started:** {utc_stamp(row.started_at)}"
        + (f", status {row.status}" if row.status != "finished" else ""),
        f"- **Incidents:** {', '.join(result['incidents']) or 'none declared'}",
        f"- **Score:** {result['score']:g}%"
        if result["score"] is not None
        else "- **Score:** no targets",
        "",
        "Times are drill time from the start (at speed ×N, scenario minutes).",
        "",
        "## Scoring targets",
        "",
        "| target | limit | achieved | result |",
        "| --- | --- | --- | --- |",
    ]
    for t in result["targets"]:
        if "limit_seconds" in t:
            achieved = "not done" if t["seconds"] is None else format_duration(t["seconds"])
            achieved = f"not counted: {t['reason']}" if t.get("reason") else achieved
            limit = format_duration(t["limit_seconds"])
        elif t["target"] == "correct runbook attached":
            limit, achieved = (
                f"`{t['expected']}`",
                ", ".join(f"`{a}`" for a in t["attached"]) or "none",
            )
        else:
            limit, achieved = ", ".join(t["expected"]), ", ".join(t["done"]) or "none"
        lines.append(
            f"| {t['target']} | {limit} | {achieved} | {'pass' if t['passed'] else 'FAIL'} |"
        )
    lines += [
        "",
        "## Expected actions",
        "",
        "| inject | action | status | when | deadline |",
        "| --- | --- | --- | --- | --- |",
    ]
    for a in result["actions"]:
        inj = scenario.injects[a["inject"]]
        what = f"{inj.at and format_duration(inj.at.total_seconds())} {inj.type}"
        lines.append(
            f"| {what} | `{a['action']}` | {a['status']} | {_when(a['at_seconds'])} | {_when(a['deadline_seconds'])} |"
        )
    if not result["actions"]:
        lines.append("| – | – | – | – | – |")
    lines += ["", "## Runbook steps skipped", ""]
    lines += [f"- `{s}`" for s in result["steps_skipped"]] or ["None."]
    lines += ["", "## Hot wash", ""]
    prompts = scenario.debrief or ["What went well?", "What was hard?", "What would you change?"]
    lines += [f"- {p}" for p in prompts]
    lines += ["", "## Improvement items", ""]
    if items:
        lines += [f"{i.number}. {i.text}" for i in items]
        lines += [
            "",
            f"Accept one with `mlops-oncall drill debrief {ref} --accept N`: it becomes an action item.",
        ]
    else:
        lines.append(no_items_line(result))
    return "\n".join(lines) + "\n", items, no_items_line(result)


def accept(records, incidents, drill_id: int, number: int) -> ActionItem:
    """Improvement item ``number`` becomes an action item on the drill's incident."""
    from mlops_oncall.incidents.service import IncidentError

    _, items = debrief_markdown(records, incidents, drill_id)
    ref = drill_ref(drill_id)
    match = next((i for i in items if i.number == number), None)
    if match is None:
        raise IncidentError(f"{ref} has no improvement item {number} (it has {len(items)})")
    incident = records.incident_of(ref)
    if incident is None:
        raise IncidentError(f"{ref} declared no incident to attach the action item to")
    return incidents.action_add(incident, match.text, type=match.type, owner=match.owner)
