"""The one-page assessment's template variables, from a kept review (and the one before it).

The page itself is ``readiness.md.j2``, rendered by ``Session.render_readiness`` through the
documents' sandbox; this module only shapes the data (docs/readiness.md lists every variable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlops_oncall.formats.timestamps import utc_stamp


def _when(text: str) -> str:
    """A kept review's RFC 3339 time as the documents print times (UTC, to the second)."""
    return utc_stamp(datetime.fromisoformat(text.replace("Z", "+00:00")))


def build_context(
    review: dict[str, Any], previous: dict[str, Any] | None, generated_at: datetime
) -> dict[str, Any]:
    details = {i["id"]: i for i in review["items"]}
    prev_cats = {c["category"]: c["percent"] for c in previous["categories"]} if previous else {}
    return {
        "generated_at": utc_stamp(generated_at),
        "service": review["service"],
        "checklist": review["checklist"],
        "review": {"at": _when(review["at"]), "actor": review["actor"]},
        "score": review["score"],
        "previous": (
            None
            if previous is None
            else {"at": _when(previous["at"]), "percent": previous["score"]["percent"]}
        ),
        "categories": [
            {**c, "previous": prev_cats.get(c["category"])} for c in review["categories"]
        ],
        "gaps": [
            {
                **g,
                "detail": details[g["id"]]["detail"],
                "note": details[g["id"]]["note"],
                "prefilled": details[g["id"]]["prefilled"],
            }
            for g in review["gaps"]
        ],
        "prefilled": sum(1 for i in review["items"] if i["prefilled"]),
        "items": len(review["items"]),
        "risks": review["risks"],
    }
