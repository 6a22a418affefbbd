"""The SQL of alert groups and alerts (store/models.py: AlertGroup, Alert).

Every function takes the caller's connection: the alerts service runs each delivery in one
write transaction with the incident events it appends. A delivery first locks its group's row
(current_group), so two deliveries of one group take turns; what it then reads of the group's
alerts (alert_states) holds until it commits. The writes keep their own guards behind that
lock: an alert is inserted with ON CONFLICT DO NOTHING, and a firing alert turns resolved with
an UPDATE guarded by its status, so a notification delivered twice at once is recorded once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, select, update

from mlops_oncall.store.tables import Alert as AL
from mlops_oncall.store.tables import AlertGroup as AG
from mlops_oncall.store.tables import Incident as INC


def _insert(conn: Connection):
    # both dialects' inserts have on_conflict_do_nothing; the generic insert has none
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def usable(conn: Connection) -> bool:
    """Whether the connection's transaction is still open and can go on, after a statement
    failed and its savepoint was rolled back (SQLite ends the whole transaction on some
    errors, a full disk or I/O; a connection lost ends it on PostgreSQL)."""
    try:
        raw = conn.connection.dbapi_connection
    except Exception:  # the connection is gone
        return False
    if raw is None:
        return False
    if conn.dialect.name == "sqlite":
        return bool(raw.in_transaction)
    from psycopg.pq import TransactionStatus

    return raw.info.transaction_status == TransactionStatus.INTRANS


def current_group(conn: Connection, receiver: str, group_key: str) -> dict[str, Any] | None:
    """The newest group of (receiver, groupKey), locked (FOR UPDATE on PostgreSQL; SQLite's
    write transaction already holds the lock)."""
    q = (
        select(AG)
        .where(AG.c.receiver == receiver, AG.c.group_key == group_key)
        .order_by(AG.c.epoch.desc())
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def insert_group(conn: Connection, **values: Any) -> int:
    """A new group; IntegrityError when a concurrent delivery created this epoch first (the
    caller runs its transaction again and finds it)."""
    return conn.execute(insert(AG).values(**values)).inserted_primary_key[0]


def group(conn: Connection, group_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    q = select(AG).where(AG.c.id == group_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def set_group(conn: Connection, group_id: int, **values: Any) -> None:
    conn.execute(update(AG).where(AG.c.id == group_id).values(**values))


def add_alerts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new alerts (the caller read they are not stored, under the group's lock), in
    one executemany: the driver's own (psycopg pipelines it; a multi-row VALUES of a storm's
    notification is too long for psycopg's parsed-query cache, so it was parsed again in
    Python for every notification). ON CONFLICT DO NOTHING stays as the unique key's guard."""
    if not rows:
        return
    stmt = _ADD.get(conn.dialect.name)
    if stmt is None:
        stmt = _ADD[conn.dialect.name] = _insert(conn)(AL).on_conflict_do_nothing(
            index_elements=["group_id", "fingerprint", "starts_at"]
        )
    conn.execute(stmt, rows)


_ADD: dict[str, Any] = {}  # per dialect: one statement object, compiled once


def alert_states(conn: Connection, group_id: int, fingerprints: set[str]) -> dict:
    """{(fingerprint, startsAt): status} of the group's stored alerts with these
    fingerprints: one read over the unique key's index."""
    if not fingerprints:
        return {}
    rows = conn.execute(_STATES, {"gid": group_id, "fps": sorted(fingerprints)})
    return {(fp, at): status for fp, at, status in rows}


_STATES = select(AL.c.fingerprint, AL.c.starts_at, AL.c.status).where(
    AL.c.group_id == bindparam("gid"), AL.c.fingerprint.in_(bindparam("fps", expanding=True))
)


def resolve_alerts(
    conn: Connection,
    group_id: int,
    alerts: list[tuple[str, datetime, datetime | None]],
    now: datetime,
) -> None:
    """Mark firing alerts (fingerprint, startsAt, endsAt) resolved, in one executemany; the
    caller read them firing under the group's lock, and the status guard stays."""
    if not alerts:
        return
    conn.execute(
        _RESOLVE,
        [
            {"gid": group_id, "fp": fp, "at": at, "ends": ends, "now": now}
            for fp, at, ends in alerts
        ],
    )


_RESOLVE = (
    update(AL)
    .where(
        AL.c.group_id == bindparam("gid"),
        AL.c.fingerprint == bindparam("fp"),
        AL.c.starts_at == bindparam("at"),
        AL.c.status == "firing",
    )
    .values(status="resolved", ends_at=bindparam("ends"), last_seen=bindparam("now"))
)


def seen(conn: Connection, group_id: int, keys: list[tuple[str, datetime]], now) -> None:
    """Alerts of a group notified again: their last_seen, in one executemany."""
    if not keys:
        return
    conn.execute(
        update(AL)
        .where(AL.c.group_id == group_id, AL.c.fingerprint == bindparam("fp"))
        .where(AL.c.starts_at == bindparam("at"))
        .values(last_seen=now),
        [{"fp": fp, "at": at} for fp, at in keys],
    )


def alerts_of(conn: Connection, group_ids: list[int]) -> list[dict[str, Any]]:
    if not group_ids:
        return []
    q = select(AL).where(AL.c.group_id.in_(group_ids)).order_by(AL.c.group_id, AL.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def incident_group_counts(conn: Connection, incident_id: int) -> list[tuple[int, int, int]]:
    """(group id, alerts firing, alerts) of each group declared as or attached to the
    incident, oldest first: one aggregate, for the incident screen's header."""
    firing = func.sum(case((AL.c.status == "firing", 1), else_=0))
    q = (
        select(AG.c.id, func.coalesce(firing, 0), func.count(AL.c.id))
        .select_from(AG.outerjoin(AL, AL.c.group_id == AG.c.id))
        .where(AG.c.incident_id == incident_id)
        .group_by(AG.c.id)
        .order_by(AG.c.id)
    )
    return [(int(g), int(f), int(n)) for g, f, n in conn.execute(q)]


def alert_names_of(conn: Connection, group_ids: list[int]) -> list[dict[str, Any]]:
    """The alerts' group, name and status only: what a one-line summary needs, without the
    labels and annotations to decode (the dashboard's inbox line, read after every delivery)."""
    if not group_ids:
        return []
    q = (
        select(AL.c.group_id, AL.c.alertname, AL.c.status)
        .where(AL.c.group_id.in_(group_ids))
        .order_by(AL.c.group_id, AL.c.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def firing_count(conn: Connection, group_id: int) -> int:
    q = select(func.count()).where(AL.c.group_id == group_id, AL.c.status == "firing")
    return conn.execute(q).scalar_one()


def groups(
    conn: Connection, *, states: tuple[str, ...] | None, since: datetime | None
) -> list[dict[str, Any]]:
    """Groups newest first, with their incident's status: in ``states`` (None: any), and
    seen since ``since`` unless still firing."""
    q = (
        select(AG, INC.c.status.label("incident_status"))
        .select_from(AG.outerjoin(INC, INC.c.id == AG.c.incident_id))
        .order_by(AG.c.last_seen.desc(), AG.c.id.desc())
    )
    if states is not None:
        q = q.where(AG.c.state.in_(states))
    rows = [dict(r) for r in conn.execute(q).mappings()]
    if since is None:
        return rows
    firing = {
        gid
        for (gid,) in conn.execute(select(AL.c.group_id).where(AL.c.status == "firing").distinct())
    }
    return [r for r in rows if r["id"] in firing or r["last_seen"] >= since]


def incident_status(conn: Connection, incident_id: int) -> str | None:
    return conn.execute(select(INC.c.status).where(INC.c.id == incident_id)).scalar()
