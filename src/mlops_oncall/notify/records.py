"""The SQL of status updates: deliveries (store/models.py: NotifyDelivery) and the reads of the
timeline the cadence needs (the last `status_update` of each incident, `update_overdue` once).

A delivery row is written before the first attempt (state ``sending``) and moved to
``delivered`` or ``failed`` after the last one, each in its own short transaction, so nothing
waits on the network while holding the database. Its idempotency key is unique: a second
delivery of the same update to the same destination finds the row instead of sending again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.store.models import NotifyDelivery
from mlops_oncall.store.tables import Event as EV
from mlops_oncall.store.tables import NotifyDelivery as ND
from mlops_oncall.store.types import parse_ts


def by_key(conn: Connection, key: str) -> NotifyDelivery | None:
    row = conn.execute(select(ND).where(ND.c.idempotency_key == key)).mappings().first()
    return NotifyDelivery.model_validate(dict(row)) if row else None


def begin(conn: Connection, **values: Any) -> int:
    """A new delivery row (state sending); IntegrityError when the key exists already."""
    return conn.execute(insert(ND).values(state="sending", **values)).inserted_primary_key[0]


def finish(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(update(ND).where(ND.c.id == delivery_id).values(**values))


def of_incident(conn: Connection, incident_id: int) -> list[NotifyDelivery]:
    rows = conn.execute(
        select(ND).where(ND.c.incident_id == incident_id).order_by(ND.c.id)
    ).mappings()
    return [NotifyDelivery.model_validate(dict(r)) for r in rows]


def external_id(conn: Connection, incident_id: int, destination: str) -> str | None:
    """What the destination calls this incident (a Statuspage incident id), from the newest
    delivery that learnt it."""
    return conn.execute(
        select(ND.c.external_id)
        .where(
            ND.c.incident_id == incident_id,
            ND.c.destination == destination,
            ND.c.external_id.is_not(None),
        )
        .order_by(ND.c.id.desc())
        .limit(1)
    ).scalar()


def last_updates(conn: Connection, incident_ids: list[int]) -> dict[int, datetime]:
    """Each incident's newest status_update time (ix_event_kind covers it)."""
    if not incident_ids:
        return {}
    rows = conn.execute(
        select(EV.c.incident_id, func.max(EV.c.ts))
        .where(EV.c.incident_id.in_(incident_ids), EV.c.kind == "status_update")
        .group_by(EV.c.incident_id)
    ).all()
    return {iid: (ts if isinstance(ts, datetime) else parse_ts(ts)) for iid, ts in rows}


def overdue_recorded(conn: Connection, incident_id: int, due: datetime) -> bool:
    """Whether an update_overdue event for this due time is on the timeline already. The data
    is canonical JSON with sorted keys, so the due time is matched as its exact text."""
    needle = f'"due":"{rfc3339(due)}"'
    return (
        conn.execute(
            select(EV.c.id)
            .where(
                EV.c.incident_id == incident_id,
                EV.c.kind == "update_overdue",
                EV.c.data.contains(needle, autoescape=True),
            )
            .limit(1)
        ).first()
        is not None
    )
