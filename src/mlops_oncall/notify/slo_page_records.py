"""The SQL of SLO page episodes (notify/slo_page.py): the slo_episode rows and the queue rows
that belong to one.

At most one episode per SLO is open (ended_at NULL: a partial unique index), so two
dispatchers that see the same page row fire open it once: the second one's INSERT conflicts
and does nothing. Ending it is an UPDATE of an open row, so one of them ends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from mlops_oncall.notify.queue_records import _insert
from mlops_oncall.store.tables import NotifyDelivery as ND
from mlops_oncall.store.tables import SloEpisode as EP


def open_episode(conn: Connection, slo: str) -> dict[str, Any] | None:
    row = conn.execute(select(EP).where(EP.c.slo == slo, EP.c.ended_at.is_(None))).mappings()
    got = row.first()
    return dict(got) if got is not None else None


def start(conn: Connection, slo: str, windows: str, now: datetime) -> int | None:
    """Open an episode; None when one is open already (another dispatcher opened it)."""
    done = conn.execute(
        _insert(conn)(EP)
        .values(slo=slo, windows=windows, started_at=now, evaluated_at=now)
        .on_conflict_do_nothing()
        .returning(EP.c.id)
    )
    return done.scalar()


def seen(conn: Connection, episode_id: int, now: datetime) -> None:
    conn.execute(update(EP).where(EP.c.id == episode_id).values(evaluated_at=now))


def end(conn: Connection, episode_id: int, now: datetime) -> bool:
    """End an open episode; False when another dispatcher ended it first."""
    done = conn.execute(
        update(EP)
        .where(EP.c.id == episode_id, EP.c.ended_at.is_(None))
        .values(ended_at=now, evaluated_at=now)
        .returning(EP.c.id)
    )
    return done.first() is not None


def triggered(conn: Connection, episode_id: int) -> list[tuple[str, str]]:
    """(destination, dedup key) of the PagerDuty triggers queued for the episode (not failed)."""
    rows = conn.execute(
        select(ND.c.destination, ND.c.external_id)
        .where(
            ND.c.slo_episode_id == episode_id,
            ND.c.kind == "slo_page",
            ND.c.type == "pagerduty",
            ND.c.state != "failed",
        )
        .order_by(ND.c.id)
    ).all()
    return [(d, k) for d, k in rows]


def episodes(conn: Connection, slo: str | None = None) -> list[dict[str, Any]]:
    q = select(EP).order_by(EP.c.id)
    if slo is not None:
        q = q.where(EP.c.slo == slo)
    return [dict(r) for r in conn.execute(q).mappings()]
