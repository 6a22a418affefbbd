"""Candidate risks from a postmortem: each "where we got lucky" line and each open prevent item.

A near miss is a risk that has not happened yet, and an open prevent item is a risk still
being carried; the lead decides which belong in the register. Accepting one creates the risk,
linked to the incident.
"""

from __future__ import annotations

from typing import Any

from mlops_oncall.incidents.service import IncidentView
from mlops_oncall.reports import text as fmt
from mlops_oncall.reports.risks import RiskError, RiskInput, Risks

# a first guess at the impact, from the severity of the incident that revealed the risk
IMPACT_BY_SEVERITY = {"SEV1": 5, "SEV2": 4, "SEV3": 3, "SEV4": 2}
LIKELIHOOD = 3  # "possible": it nearly happened, or just did


def candidates(view: IncidentView, existing: list[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The candidates of one incident; ``existing`` (risks linked to it) marks accepted ones."""
    r = view.row
    accepted = {risk["title"].casefold(): risk["id"] for risk in existing}
    impact = IMPACT_BY_SEVERITY.get(r["severity"], 3)
    out: list[dict[str, Any]] = []
    for n, line in enumerate(fmt.items(r.get("lucky")), start=1):
        out.append(
            {
                "key": f"lucky-{n}",
                "source": "lucky",
                "incident": view.id,
                "title": line,
                "description": f"Near miss in {view.id} ({r['title']}): {line}",
                "category": "other",
                "likelihood": LIKELIHOOD,
                "impact": impact,
                "owner": None,
                "mitigation": None,
                "existing": accepted.get(line.casefold()),
            }
        )
    for item in view.actions:
        if item["type"] != "prevent" or item["status"] != "open":
            continue
        out.append(
            {
                "key": f"action-{item['number']}",
                "source": "action_item",
                "incident": view.id,
                "title": item["text"],
                "description": (
                    f"Until action item {item['number']} of {view.id} is done, "
                    f"what caused {view.id} ({r['title']}) can happen again."
                ),
                "category": "other",
                "likelihood": LIKELIHOOD,
                "impact": impact,
                "owner": item["owner"],
                "mitigation": item["text"],
                "existing": accepted.get(item["text"].casefold()),
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
