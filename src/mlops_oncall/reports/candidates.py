"""Candidate risks from a postmortem: each "where we got lucky" line and each open prevent item.

A near miss is a risk that has not happened yet, and an open prevent item is a risk still
being carried; the lead decides which belong in the register. Each is written as a risk
statement, "If <cause>, then <effect>" (the condition and its consequence, as ISO 31000 and
most registers phrase them), with a category from the runbook the incident followed.
Accepting one creates the risk with its description, mitigation and category, linked to the
incident.
"""

from __future__ import annotations

from typing import Any

from mlops_oncall.incidents.service import IncidentView
from mlops_oncall.reports import text as fmt
from mlops_oncall.reports.risks import RiskError, RiskInput, Risks

# a first guess at the impact, from the severity of the incident that revealed the risk
IMPACT_BY_SEVERITY = {"SEV1": 5, "SEV2": 4, "SEV3": 3, "SEV4": 2}
LIKELIHOOD = 3  # "possible": it nearly happened, or just did
# the register's category for the runbook category the incident followed
CATEGORY_BY_RUNBOOK = {
    "serving": "availability",
    "data": "data-dependency",
    "pipeline": "data-dependency",
    "quality": "model-quality",
    "release": "process",
    "cost": "cost",
}


def _flat(text: str) -> str:
    return " ".join(text.split())  # a stored title is plain text on one line


def _lower_first(text: str) -> str:
    text = text.rstrip(". ")
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.upper() == first:  # an acronym: GPU, PSI
        return text
    return text[:1].lower() + text[1:]


def _category(view: IncidentView) -> str:
    t = view.triage
    return CATEGORY_BY_RUNBOOK.get(str(t.runbook.category), "other") if t else "other"


def candidates(view: IncidentView, existing: list[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The candidates of one incident; ``existing`` (risks linked to it) marks accepted ones."""
    r = view.row
    accepted = {}
    for risk in existing:
        for text in (risk["title"], risk["description"]):
            if text:
                accepted.setdefault(text.casefold(), risk["id"])
    impact = IMPACT_BY_SEVERITY.get(r.severity, 3)
    category = _category(view)
    what = _flat(r.title).rstrip(". ")
    where = f" on {r.service}" if r.service else ""
    cause = _lower_first(_flat(r.root_cause)) if r.root_cause else None
    out: list[dict[str, Any]] = []
    for n, line in enumerate(fmt.items(r.lucky), start=1):
        luck = _lower_first(_flat(line))
        title = f"If {view.id}'s luck does not repeat ({luck}), then {what} recurs at full impact"
        out.append(
            {
                "key": f"lucky-{n}",
                "source": "lucky",
                "incident": view.id,
                "title": title,
                "description": (
                    f"If {cause or 'what caused ' + view.id} happens again without what "
                    f"limited {view.id} ({luck}), then {what}{where} is not contained: a "
                    f"{r.severity} impact, as {view.id} nearly was."
                ),
                "category": category,
                "likelihood": LIKELIHOOD,
                "impact": impact,
                "owner": None,
                "mitigation": None,
                "existing": accepted.get(title.casefold()) or accepted.get(line.casefold()),
            }
        )
    for item in view.actions:
        if item.type != "prevent" or item.status != "open":
            continue
        action = _flat(item.text).rstrip(". ")
        title = f'If "{action}" is not done, then {what} can recur'
        out.append(
            {
                "key": f"action-{item.number}",
                "source": "action_item",
                "incident": view.id,
                "title": title,
                "description": (
                    f"If {cause or 'what caused ' + view.id} happens again before action item "
                    f"{item.number} of {view.id} ({_lower_first(action)}) is done, then "
                    f"{what}{where} "
                    f"recurs: a {r.severity} impact."
                ),
                "category": category,
                "likelihood": LIKELIHOOD,
                "impact": impact,
                "owner": item.owner,
                "mitigation": item.text,
                "existing": accepted.get(title.casefold()) or accepted.get(item.text.casefold()),
            }
        )
    return out


def accept(
    risks: Risks,
    view: IncidentView,
    key: str,
    *,
    owner: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Create the risk a candidate proposes, linked to the incident."""
    found = {c["key"]: c for c in candidates(view, risks.linked_to(view.id))}
    cand = found.get(key)
    if cand is None:
        keys = ", ".join(found) or "none"
        raise RiskError(f"{view.id} has no candidate risk '{key}' (candidates: {keys})")
    if cand["existing"]:
        raise RiskError(f"candidate '{key}' of {view.id} is already {cand['existing']}")
    owner = owner or cand["owner"]
    if not owner:
        raise RiskInput(f"candidate '{key}' has no owner; give one")
    fields = {
        "category": cand["category"],
        "description": cand["description"],
        "mitigation": cand["mitigation"],
    } | {k: v for k, v in overrides.items() if v is not None}
    return risks.add(
        cand["title"],
        fields.pop("likelihood", cand["likelihood"]),
        fields.pop("impact", cand["impact"]),
        owner,
        incidents=[view.id],
        **fields,
    )
