"""Response metrics: TTD, TTA, TTM, TTR and the duration per incident; percentiles per window.

The one definition of each, used by every command, screen and document:
TTD = detected - impact_started, TTA = acknowledged - detected, TTM = mitigated - detected,
TTR = resolved - detected, and the duration (the outage) = mitigated - impact_started, from
detection when the impact start is unknown. A metric with a missing end is left out, never
counted as zero. Percentiles are nearest-rank. Drills never count.

Per incident they read an ``Incident`` record; over a window, one Core query (10k incidents
would cost several times more as records).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from mlops_oncall.incidents.lifecycle import SEVERITIES
from mlops_oncall.store.models import Incident
from mlops_oncall.store.sqlfuncs import epoch_seconds
from mlops_oncall.store.tables import Incident as INC

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


def incident_metrics(row: Incident) -> dict[str, float | None]:
    return {
        name: _secs(getattr(row, f"{a}_at"), getattr(row, f"{b}_at"))
        for name, (a, b) in METRICS.items()
    }


def outage(row: Incident) -> tuple[datetime | None, datetime | None]:
    """The outage: from the impact start (else detection, else declaration) to mitigation."""
    begins = row.impact_started_at or row.detected_at or row.declared_at
    return begins, row.mitigated_at


def duration(row: Incident) -> float | None:
    return _secs(*outage(row))


def duration_vs_ttr(row: Incident) -> dict[str, float] | None:
    """Why the duration and TTR differ, in seconds, or None when they agree (or one is unset).

    ``before_detection``: the outage began that long before detection (TTR starts at it);
    ``after_mitigation``: the incident was resolved that long after the impact stopped.
    """
    dur, ttr = duration(row), incident_metrics(row)["ttr"]
    if dur is None or ttr is None or dur == ttr:
        return None
    begins, ends = outage(row)
    detected = row.detected_at or begins
    return {
        "duration": dur,
        "ttr": ttr,
        "before_detection": (detected - begins).total_seconds(),
        "after_mitigation": (row.resolved_at - ends).total_seconds(),
    }


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
    """Metrics over incidents declared in [since, until), drills and declined ones excluded.

    The differences are computed in SQL (epoch_seconds is compiled per dialect), so 10k
    incidents cost one narrow query and a sort per metric.
    """
    ep = {
        m: epoch_seconds(INC.c[f"{m}_at"])
        for m in ("impact_started", "detected", "acknowledged", "mitigated", "resolved")
    }
    cols = [
        INC.c.severity,
        (ep["detected"] - ep["impact_started"]).label("ttd"),
        (ep["acknowledged"] - ep["detected"]).label("tta"),
        (ep["mitigated"] - ep["detected"]).label("ttm"),
        (ep["resolved"] - ep["detected"]).label("ttr"),
        # the duration: the outage, from the impact start (else detection) to mitigation
        (
            ep["mitigated"]
            - func.coalesce(ep["impact_started"], ep["detected"], epoch_seconds(INC.c.declared_at))
        ).label("duration"),
    ]
    q = select(*cols).where(INC.c.is_drill.is_(False), INC.c.status != "declined")
    if since is not None:
        q = q.where(INC.c.declared_at >= since)
    if until is not None:
        q = q.where(INC.c.declared_at < until)
    rows = conn.execute(q).all()
    by_sev = dict.fromkeys(SEVERITIES, 0)
    for r in rows:
        by_sev[r[0]] = by_sev.get(r[0], 0) + 1
    series = {
        name: [round(r[i], 3) for r in rows if r[i] is not None]
        for i, name in enumerate(("ttd", "tta", "ttm", "ttr", "duration"), start=1)
    }
    return {
        "since": since,
        "until": until,
        "incidents": len(rows),
        "by_severity": by_sev,
        **{m: summarise(v) for m, v in series.items()},
    }
