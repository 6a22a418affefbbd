"""Error budgets in documents: what an incident consumed (the postmortem) and each SLO's
budget and burn over a period (the weekly report), from ``Session.slos`` (slo/service.py).

The figures are the SLO engine's: a ratio of sums over the SLO's checks' polls, read from the
minute roll-ups while they are kept and from the whole hours around a period after that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlops_oncall.reports import text as fmt
from mlops_oncall.slo.service import POSTMORTEM_SHARE, Slos

NO_DATA = "no data"


def _pct(share: float | None) -> str:
    return NO_DATA if share is None else f"{share * 100:.1f}%"


def _slo_head(slo: Any) -> dict[str, Any]:
    return {
        "id": slo.id,
        "objective": f"{slo.objective.normalize():f}%",
        "window": slo.window_text,
        "checks": list(slo.checks),
    }


def incident_budget(
    slos: Slos | None, related: set[str], begins: datetime, end: datetime
) -> dict[str, Any]:
    """The postmortem's ``budget``: for each SLO over one of the incident's checks, the share
    of its window's budget the polls between the outage's start and ``end`` spent, and the
    SRE Workbook's trigger (more than 20% of the budget in one incident)."""
    rows = []
    for slo in slos.set if slos is not None else ():
        if not related & set(slo.checks):
            continue
        used = slos.consumed(slo.id, begins, end)
        rows.append(
            {
                **_slo_head(slo),
                "bad_polls": used.bad,
                "window_polls": used.window_total,
                "consumed": _pct(used.share),
                "consumed_share": used.share,
                "needs_postmortem": used.needs_postmortem,
            }
        )
    return {
        "trigger": f"{POSTMORTEM_SHARE * 100:g}%",
        "since": fmt.ts_utc(begins),
        "until": fmt.ts_utc(end),
        "needs_postmortem": any(r["needs_postmortem"] for r in rows),
        "slos": rows,
    }


def period_budgets(slos: Slos | None, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The weekly report's ``slos``: each SLO at the period's end (budget left, the burn now,
    the rows firing) and what the period itself spent against its pro-rata share (a period of
    7 days may spend 7/30 of a 30-day budget and still last the window)."""
    if slos is None or not len(slos.set.slos):
        return []
    out = []
    for st in slos.evaluate(until):
        slo = st.slo
        used = slos.consumed(slo.id, since, until)
        pace = (until - since) / slo.window
        left = st.remaining
        if left is None:
            status = NO_DATA
        elif left <= 0:
            status = "spent"
        elif used.share is not None and used.share > pace:
            status = "burning"
        else:
            status = "ok"
        out.append(
            {
                **_slo_head(slo),
                "state": st.state,
                "budget_remaining": _pct(left),
                "budget_remaining_share": left,
                "burn_rate": NO_DATA if st.current_rate is None else f"{st.current_rate:.2f}x",
                "burn_rate_value": st.current_rate,
                "firing": ", ".join(
                    f"{fmt.duration(r.row.long.total_seconds())}/"
                    f"{fmt.duration(r.row.short.total_seconds())} {r.row.severity}"
                    for r in st.firing
                ),
                "period_consumed": _pct(used.share),
                "period_consumed_share": used.share,
                "period_bad_polls": used.bad,
                "pace": _pct(pace),
                "pace_share": pace,
                "status": status,
            }
        )
    return out
