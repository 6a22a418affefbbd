"""Check history in the store: threshold crossings, hourly and per-minute roll-ups.

Roll-ups are merged into the stored hour (add the counts), so a restart or two pollers on one
database never lose or double-count an hour's polls. Reads return the typed records
(``CheckTransition``, ``CheckRollup``), their JSON columns parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from mlops_oncall.redact import DEFAULT as SHAPES
from mlops_oncall.store.db import Store
from mlops_oncall.store.models import CheckRollup, CheckTransition
from mlops_oncall.store.tables import CheckMinute as MI
from mlops_oncall.store.tables import CheckRollup as RU
from mlops_oncall.store.tables import CheckTransition as TR


def record_transitions(store: Store, transitions: Iterable[Any]) -> int:
    """Store threshold crossings. The prober has masked the workspace's secrets already; any
    credential shape left in a message or an observed value is masked here too, because
    whoever reads the history (postmortems, replays) prints it."""
    rows = [
        {
            "check_id": t.check_id,
            "service": t.service,
            "from_state": t.from_state,
            "to_state": t.to_state,
            "at": t.at,
            "previous_since": t.previous_since,
            "first_failure_at": t.first_failure_at,
            "error_class": t.error_class,
            "message": SHAPES.text(t.message or ""),
            "observed": SHAPES.value(t.observed or {}),
            "blocked_by": list(t.blocked_by or ()),
        }
        for t in transitions
    ]
    if rows:
        with store.write() as conn:
            conn.execute(insert(TR), rows)
    return len(rows)


def merge_rollups(store: Store, hours: Iterable[Any]) -> int:
    """Add each HourRollup's counts into its stored (check, hour) row."""
    n = 0
    with store.write() as conn:
        for h in hours:
            n += 1
            row = (
                conn.execute(select(RU).where(RU.c.check_id == h.check_id, RU.c.hour == h.hour))
                .mappings()
                .first()
            )
            if row is None:
                conn.execute(
                    insert(RU).values(
                        check_id=h.check_id,
                        hour=h.hour,
                        polls=h.polls,
                        successes=h.successes,
                        degraded=h.degraded,
                        down=h.down,
                        latency_sum_ms=h.latency_sum_ms,
                        latency_counts=list(h.latency_counts),
                    )
                )
                continue
            counts = row["latency_counts"] or [0] * len(h.latency_counts)
            merged = [a + b for a, b in zip(counts, h.latency_counts, strict=True)]
            conn.execute(
                update(RU)
                .where(RU.c.id == row["id"])
                .values(
                    polls=row["polls"] + h.polls,
                    successes=row["successes"] + h.successes,
                    degraded=row["degraded"] + h.degraded,
                    down=row["down"] + h.down,
                    latency_sum_ms=row["latency_sum_ms"] + h.latency_sum_ms,
                    latency_counts=merged,
                )
            )
    return n


# Minute rows are kept for the longest SLO alert window (3d, the SRE Workbook's slowest row)
# plus a margin, so a 3d window is complete even at the end of the hour a prune just ran in.
# An SLO policy may not name a longer window (slo/config.py refuses it).
LONGEST_ALERT_WINDOW = timedelta(days=3)
MINUTE_RETENTION = LONGEST_ALERT_WINDOW + timedelta(hours=1)


def _sparse(counts: list[int]) -> dict[str, int]:
    return {str(i): n for i, n in enumerate(counts) if n}


def merge_minutes(store: Store, minutes: Iterable[Any], *, now: datetime | None = None) -> int:
    """Add each minute's counts (``HourRollup``s whose ``hour`` is the minute) into its stored
    (minute, check) row: the current minute arrives in parts, one per flush. With ``now``,
    rows older than ``MINUTE_RETENTION`` are deleted in the same transaction."""
    batch = list(minutes)
    with store.write() as conn:
        existing: dict[tuple[datetime, str], Any] = {}
        stamps = sorted({m.hour for m in batch})
        for i in range(0, len(stamps), 500):  # bound the IN list
            q = select(MI).where(MI.c.minute.in_(stamps[i : i + 500]))
            for row in conn.execute(q).mappings():
                existing[(row["minute"], row["check_id"])] = row
        new = []
        for m in batch:
            row = existing.get((m.hour, m.check_id))
            if row is None:
                new.append(
                    {
                        "check_id": m.check_id,
                        "minute": m.hour,
                        "polls": m.polls,
                        "successes": m.successes,
                        "degraded": m.degraded,
                        "down": m.down,
                        "latency_counts": _sparse(m.latency_counts),
                    }
                )
                continue
            counts = dict(row["latency_counts"] or {})
            for key, n in _sparse(m.latency_counts).items():
                counts[key] = counts.get(key, 0) + n
            conn.execute(
                update(MI)
                .where(MI.c.id == row["id"])
                .values(
                    polls=row["polls"] + m.polls,
                    successes=row["successes"] + m.successes,
                    degraded=row["degraded"] + m.degraded,
                    down=row["down"] + m.down,
                    latency_counts=counts,
                )
            )
        if new:
            conn.execute(insert(MI), new)
        if now is not None:
            conn.execute(delete(MI).where(MI.c.minute < now - MINUTE_RETENTION))
    return len(batch)


def transitions(
    store: Store,
    *,
    check_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[CheckTransition]:
    """Threshold crossings, oldest first."""
    q = select(TR).order_by(TR.c.at, TR.c.id)
    if check_id:
        q = q.where(TR.c.check_id == check_id)
    if since:
        q = q.where(TR.c.at >= since)
    if until:
        q = q.where(TR.c.at < until)
    if limit:
        q = q.limit(limit)
    with store.read() as conn:
        return [CheckTransition.model_validate(r) for r in conn.execute(q).mappings()]


def latest_transitions(store: Store) -> list[CheckTransition]:
    """Each check's newest crossing (its state now, as last recorded), by check id."""
    newest = (
        select(
            TR.c.id,
            func.row_number()
            .over(partition_by=TR.c.check_id, order_by=(TR.c.at.desc(), TR.c.id.desc()))
            .label("n"),
        )
    ).subquery()
    q = (
        select(TR)
        .join(newest, newest.c.id == TR.c.id)
        .where(newest.c.n == 1)
        .order_by(TR.c.check_id)
    )
    with store.read() as conn:
        return [CheckTransition.model_validate(r) for r in conn.execute(q).mappings()]


def rollups(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    check_id: str | None = None,
) -> list[CheckRollup]:
    """Hourly roll-ups, by check then hour."""
    q = select(RU).order_by(RU.c.check_id, RU.c.hour)
    if check_id:
        q = q.where(RU.c.check_id == check_id)
    if since:
        q = q.where(RU.c.hour >= since)
    if until:
        q = q.where(RU.c.hour < until)
    with store.read() as conn:
        return [CheckRollup.model_validate(r) for r in conn.execute(q).mappings()]
