"""The SQL of the notification queue (notify/dispatcher.py): rows of notify_delivery with a
``kind``, from queued to delivered or failed, and the reads of the timeline the rules need.

- ``enqueue`` inserts a row unless its idempotency key exists (ON CONFLICT DO NOTHING on both
  backends), so deriving the same notification twice, by two dispatchers or after a restart,
  queues it once.
- ``claim`` takes due rows for one dispatcher: queued ones whose next attempt has come, and
  sending ones whose lease ran out (their dispatcher died between send and mark). On
  PostgreSQL the SELECT is ``FOR UPDATE SKIP LOCKED``, so two dispatchers never take the same
  row; SQLite's write transaction (BEGIN IMMEDIATE) makes them take turns. A row waits while
  an earlier row of the same incident and destination is unsettled, so a PagerDuty
  acknowledge never overtakes its trigger.
- ``settle`` moves a row on only while this dispatcher still holds its lease.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.incidents.lifecycle import OPEN_STATUSES
from mlops_oncall.store.models import NotifyDelivery
from mlops_oncall.store.tables import Event as EV
from mlops_oncall.store.tables import Incident as INC
from mlops_oncall.store.tables import Meta
from mlops_oncall.store.tables import NotifyDelivery as ND

# the timeline events the rules read: a declaration, an acknowledgement (a milestone), a
# status change (resolved), and the deadlines the dispatcher itself records
TRIGGER_KINDS = (
    "declared",
    "severity_changed",
    "milestone",
    "status_changed",
    "escalated",
    "unacknowledged",
)
UNSETTLED = ("queued", "sending")


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def _meta(conn: Connection, key: str, value: str) -> str:
    """The value kept under ``key``, written as ``value`` by whoever asks first."""
    conn.execute(
        _insert(conn)(Meta)
        .values(key=key, value=value)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return conn.execute(select(Meta.c.value).where(Meta.c.key == key)).scalar_one()


def workspace_id(conn: Connection) -> str:
    """This database's own id: the prefix of PagerDuty dedup keys (stable for its life)."""
    return _meta(conn, "notify_workspace", uuid.uuid4().hex[:12])


def since(conn: Connection, now: datetime) -> datetime:
    """When notifications were first dispatched here: events before it are never sent (turning
    rules on does not page for last week's incidents)."""
    from mlops_oncall.store.types import parse_ts

    return parse_ts(_meta(conn, "notify_since", rfc3339(now)))


def enqueue(conn: Connection, **values: Any) -> bool:
    """Queue one notification; False when its idempotency key is queued already."""
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here
    done = conn.execute(
        _insert(conn)(ND)
        .values(state="queued", attempts=0, **values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(ND.c.id)
    )
    return done.first() is not None


def triggers(conn: Connection, after: datetime) -> list[dict[str, Any]]:
    """The events the rules may act on since ``after``, with their incident's row."""
    q = (
        select(
            EV.c.incident_id,
            EV.c.seq,
            EV.c.ts,
            EV.c.kind,
            EV.c.text,
            EV.c.data,
            INC.c.title,
            INC.c.severity,
            INC.c.status,
            INC.c.service,
            INC.c.is_drill,
        )
        .join(INC, INC.c.id == EV.c.incident_id)
        .where(EV.c.kind.in_(TRIGGER_KINDS), EV.c.ts >= after, INC.c.is_drill.is_(False))
        .order_by(EV.c.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def triggered(conn: Connection, incident_id: int, destination: str) -> str | None:
    """The dedup key of a trigger queued (or sent) for the incident to the destination."""
    return conn.execute(
        select(ND.c.external_id)
        .where(
            ND.c.incident_id == incident_id,
            ND.c.destination == destination,
            ND.c.kind.is_not(None),
            ND.c.kind.not_in(("acknowledge", "resolve")),
            ND.c.state != "failed",
        )
        .order_by(ND.c.id)
        .limit(1)
    ).scalar()


def declared_to(conn: Connection, incident_id: int, destination: str) -> bool:
    """Whether the incident's declaration was queued to the destination already."""
    return (
        conn.execute(
            select(ND.c.id)
            .where(
                ND.c.incident_id == incident_id,
                ND.c.destination == destination,
                ND.c.kind == "declared",
            )
            .limit(1)
        ).first()
        is not None
    )


def open_incidents(conn: Connection) -> list[dict[str, Any]]:
    q = select(INC).where(INC.c.status.in_(OPEN_STATUSES), INC.c.is_drill.is_(False))
    return [dict(r) for r in conn.execute(q.order_by(INC.c.id)).mappings()]


def recorded(conn: Connection, incident_id: int, kind: str, needle: str) -> bool:
    """Whether an event of ``kind`` whose canonical data holds ``needle`` (an exact
    ``"key":value`` text) is on the incident's timeline."""
    return (
        conn.execute(
            select(EV.c.id)
            .where(
                EV.c.incident_id == incident_id,
                EV.c.kind == kind,
                EV.c.data.contains(needle, autoescape=True),
            )
            .limit(1)
        ).first()
        is not None
    )


def _due(now: datetime):
    return and_(
        ND.c.kind.is_not(None),
        or_(
            and_(ND.c.state == "queued", ND.c.next_attempt_at <= now),
            and_(ND.c.state == "sending", ND.c.lease_until < now),
        ),
    )


def claim(
    conn: Connection, owner: str, now: datetime, lease: dict[str, Any], limit: int = 20
) -> list[NotifyDelivery]:
    """Take up to ``limit`` due rows for ``owner``; ``lease`` maps a destination to how long
    one attempt may take (a row's lease runs out after it)."""
    earlier = aliased(ND)
    blocked = exists().where(
        # the same incident's, or the same SLO page episode's (an SLO page has no incident)
        or_(
            earlier.c.incident_id == ND.c.incident_id,
            earlier.c.slo_episode_id == ND.c.slo_episode_id,
        ),
        earlier.c.destination == ND.c.destination,
        earlier.c.id < ND.c.id,
        earlier.c.kind.is_not(None),
        earlier.c.state.in_(UNSETTLED),
    )
    q = (
        select(ND.c.id, ND.c.destination)
        .where(_due(now), ~blocked)
        .order_by(ND.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(q).all()
    out = []
    for rid, dest in rows:
        conn.execute(
            update(ND)
            .where(ND.c.id == rid)
            .values(
                state="sending",
                lease_owner=owner,
                lease_until=now + lease[dest],
                attempts=ND.c.attempts + 1,
                updated_at=now,
            )
        )
        row = conn.execute(select(ND).where(ND.c.id == rid)).mappings().one()
        out.append(NotifyDelivery.model_validate(dict(row)))
    return out


def settle(conn: Connection, delivery_id: int, owner: str, **values: Any) -> bool:
    """Move a claimed row on (delivered, queued again, failed) if ``owner`` still holds it."""
    done = conn.execute(
        update(ND)
        .where(ND.c.id == delivery_id, ND.c.lease_owner == owner, ND.c.state == "sending")
        .values(lease_owner=None, lease_until=None, **values)
        .returning(ND.c.id)
    )
    return done.first() is not None


def next_due(conn: Connection) -> datetime | None:
    """The soonest time a queued row becomes due (or a lease runs out)."""
    a = conn.execute(
        select(ND.c.next_attempt_at)
        .where(ND.c.kind.is_not(None), ND.c.state == "queued")
        .order_by(ND.c.next_attempt_at)
        .limit(1)
    ).scalar()
    b = conn.execute(
        select(ND.c.lease_until)
        .where(ND.c.kind.is_not(None), ND.c.state == "sending")
        .order_by(ND.c.lease_until)
        .limit(1)
    ).scalar()
    found = [t for t in (a, b) if t is not None]
    return min(found) if found else None


def items(conn: Connection, states: Iterable[str] | None = None) -> list[NotifyDelivery]:
    """The queue's rows (notifications only), oldest first."""
    q = select(ND).where(ND.c.kind.is_not(None))
    if states is not None:
        q = q.where(ND.c.state.in_(tuple(states)))
    return [
        NotifyDelivery.model_validate(dict(r)) for r in conn.execute(q.order_by(ND.c.id)).mappings()
    ]


def acknowledged(conn: Connection, incident_id: int) -> bool:
    return (
        conn.execute(select(INC.c.acknowledged_at).where(INC.c.id == incident_id)).scalar()
        is not None
    )


def has_status(conn: Connection, incident_id: int, statuses: tuple[str, ...]) -> bool:
    return conn.execute(select(INC.c.status).where(INC.c.id == incident_id)).scalar() in statuses
