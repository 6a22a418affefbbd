"""The risk register as a Markdown document: the top risks by score, each with the change in
its score since its last review, for the lead to bring to the weekly review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.reports import text as fmt
from mlops_oncall.reports.render import render_document
from mlops_oncall.reports.risks import BANDS, REVIEW_EVERY, Risks
from mlops_oncall.reports.sources import Sources

TEMPLATE = "risks.md.j2"
TOP = 10


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def build_context(
    risks: Risks,
    *,
    include_all: bool = False,
    sources: Sources | None = None,
    clock: Clock = SYSTEM,
) -> dict[str, Any]:
    """The template context of the register, read through the ``risks`` service given."""
    sources = sources or Sources()
    svc = risks
    every = svc.list()
    chosen = every if include_all else [r for r in every if r["status"] != "closed"][:TOP]
    risks = []
    for summary in chosen:
        r = svc.get(summary["id"])
        last_review = next((h for h in reversed(r["history"]) if h["kind"] == "review"), None)
        res = r["residual"]
        risks.append(
            {
                "id": r["id"],
                "title": r["title"],
                "description": r["description"],
                "category": r["category"],
                "likelihood": r["likelihood"],
                "impact": r["impact"],
                "score": r["score"],
                "band": r["band"],
                "current_score": r["current"]["score"],
                "current_band": r["current"]["band"],
                "previous_score": r["previous_score"],
                "change": r["change"],
                "change_text": fmt.score_change(r["change"]),
                "owner": r["owner"],
                "treatment": r["treatment"],
                "approver": r["approver"],
                "expires": _iso(r["expires"]),
                "acceptance_expired": r["acceptance_expired"],
                "mitigation": r["mitigation"],
                "contingency": r["contingency"],
                "early_warning": r["early_warning"],
                "status": r["status"],
                "identified_on": _iso(r["identified_on"]),
                "next_review": _iso(r["next_review"]),
                "last_reviewed": _iso(r["last_reviewed"]),
                "overdue": r["overdue"],
                "residual": (
                    f"{res['likelihood']}×{res['impact']} = {res['score']} ({res['band']})"
                    if res
                    else None
                ),
                "last_review_note": last_review["note"] if last_review else None,
                "incidents": r["links"]["incidents"],
                "runbooks": r["links"]["runbooks"],
            }
        )
    lows = [1] + [top + 1 for top, _ in BANDS[:-1]]
    ctx = {
        "generated_at": fmt.ts_utc(clock.now()),
        "scope": "all" if include_all else "top",
        "limit": None if include_all else TOP,
        "total": len(every),
        "open": sum(r["status"] != "closed" for r in every),
        "overdue": sum(r["overdue"] for r in every),
        "risks": risks,
        "bands": [
            {"band": name, "from": lo, "to": top, "review_every_days": REVIEW_EVERY[name]}
            for lo, (top, name) in zip(lows, BANDS, strict=True)
        ],
    }
    return sources.redact(ctx)


def render_register(
    risks: Risks,
    *,
    include_all: bool = False,
    sources: Sources | None = None,
    clock: Clock = SYSTEM,
    templates_dir: Path | None = None,
    template_file: Path | None = None,
) -> str:
    sources = sources or Sources()
    ctx = build_context(risks, include_all=include_all, sources=sources, clock=clock)
    return render_document(
        TEMPLATE, ctx, sources, templates_dir=templates_dir, template_file=template_file
    )
