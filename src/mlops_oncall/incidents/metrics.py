"""Response metrics (DESIGN.md): TTD, TTA, TTM, TTR per incident; counts and percentiles per window.

TTD = detected - impact_started, TTA = acknowledged - detected, TTM = mitigated - detected,
TTR = resolved - detected. A metric with a missing end is left out, never counted as zero.
Percentiles are nearest-rank. Drills never count.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import String, select, type_coerce

from mlops_oncall.incidents.lifecycle import SEVERITIES
from mlops_oncall.store.tables import Incident

INC = Incident.__table__
METRICS = {  # name: (start milestone, end milestone)
    "ttd": ("impact_started", "detected"),
    "tta": ("detected", "acknowledged"),
    "ttm": ("detected", "mitigated"),
    "ttr": ("detected", "resolved"),
}


def _secs(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def incident_metrics(row: dict[str, Any]) -> dict[str, float | None]:
    return {name: _secs(row[f"{a}_at"], row[f"{b}_at"]) for name, (a, b) in METRICS.items()}


def nearest_rank(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(values: list[float]) -> dict[str, Any]:
    values = sorted(values)
    return {
        "count": len(values),
        "median": nearest_rank(values, 50),
        "p90": nearest_rank(values, 90),
    }


def window_metrics(
    conn, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Metrics over incidents declared in [since, until), drills excluded.

    Timestamps are read as their stored RFC 3339 text and parsed with fromisoformat: 10k
    incidents cost one narrow query and a few tens of thousands of C-level parses.
    """
    cols = [INC.c.severity] + [
        type_coerce(INC.c[f"{m}_at"], String)
        for m in ("impact_started", "detected", "acknowledged", "mitigated", "resolved")
    ]
    q = select(*cols).where(INC.c.is_drill.is_(False), INC.c.status != "declined")
    if since is not None:
        q = q.where(INC.c.declared_at >= since)
    if until is not None:
        q = q.where(INC.c.declared_at < until)
    by_sev = dict.fromkeys(SEVERITIES, 0)
    series: dict[str, list[float]] = {m: [] for m in METRICS}
    parse = datetime.fromisoformat
    n = 0
    for sev, imp, det, ack, mit, res in conn.execute(q):
        n += 1
        by_sev[sev] = by_sev.get(sev, 0) + 1
        if det is None:
            continue
        d = parse(det)
        if imp is not None:
            series["ttd"].append((d - parse(imp)).total_seconds())
        if ack is not None:
            series["tta"].append((parse(ack) - d).total_seconds())
        if mit is not None:
            series["ttm"].append((parse(mit) - d).total_seconds())
        if res is not None:
            series["ttr"].append((parse(res) - d).total_seconds())
    return {
        "since": since,
        "until": until,
        "incidents": n,
        "by_severity": by_sev,
        **{m: summarise(v) for m, v in series.items()},
    }
