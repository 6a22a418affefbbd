"""Who else has an incident open: a heartbeat per TUI session, stale after about 30 s.

The incident screen beats every 10 s while it is open (one upsert) and reads the others (one
select); it leaves when it closes. A terminal that dies without leaving drops
out once its last beat is older than ``STALE_AFTER``; its row is deleted later, when this or
another terminal opens or leaves an incident, so an idle screen costs the two statements only.

Presence is not evidence: it is not on the hash-chained timeline, not exported and not
verified. Times are wall-clock (a drill's clock runs faster than the beats); terminals on
different machines need clocks that agree to within the 20 s between a beat and staleness.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.refs import parse_ref
from mlops_oncall.store.db import Store
from mlops_oncall.store.tables import Presence as P

STALE_AFTER = timedelta(seconds=30)  # a session not seen for this long has gone


@dataclass(frozen=True)
class Here:
    """Someone else with the incident open."""

    actor: str
    you: bool  # the same person, in another terminal
    seen_at: datetime


def _upsert(dialect: str) -> Any:
    # both dialects' inserts have on_conflict_do_update; the generic insert has none
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


class PresenceBoard:
    """One TUI process's presence: ``session_key`` tells its terminals apart from another
    process of the same person."""

    def __init__(
        self,
        store: Store,
        *,
        actor: str,
        clock: Clock = SYSTEM,
        session_key: str | None = None,
    ):
        self.store = store
        self.actor = actor
        self.clock = clock
        self.session_key = session_key or secrets.token_hex(8)
        self._open: set[int] = set()  # incidents beaten since their last leave

    def beat(self, incident: str | int) -> None:
        """Mark this session as having the incident open now. The first beat after opening it
        also deletes every stale row. A read-only store records no presence."""
        if self.store.read_only:
            return
        incident_id = parse_ref(incident)
        now = self.clock.now()
        insert = _upsert(self.store.backend)
        stmt = insert(P).values(
            incident_id=incident_id, session_key=self.session_key, actor=self.actor, seen_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[P.c.incident_id, P.c.session_key],
            set_={"seen_at": stmt.excluded.seen_at, "actor": stmt.excluded.actor},
        )
        with self.store.write() as conn:
            conn.execute(stmt)
            if incident_id not in self._open:
                self._sweep(conn, now)
        self._open.add(incident_id)

    def leave(self, incident: str | int) -> None:
        """This session has closed the incident: the others stop showing it at once."""
        incident_id = parse_ref(incident)
        self._open.discard(incident_id)
        if self.store.read_only:
            return
        mine = (P.c.incident_id == incident_id) & (P.c.session_key == self.session_key)
        with self.store.write() as conn:
            conn.execute(delete(P).where(mine))
            self._sweep(conn, self.clock.now())

    def others(self, incident: str | int) -> list[Here]:
        """The other sessions seen on the incident within ``STALE_AFTER``: each other person
        once (by name), then you if you have it open in another terminal too."""
        incident_id = parse_ref(incident)
        since = self.clock.now() - STALE_AFTER
        query = select(P.c.actor, P.c.seen_at).where(
            P.c.incident_id == incident_id,
            P.c.session_key != self.session_key,
            P.c.seen_at >= since,
        )
        with self.store.single_read() as conn:
            rows = conn.execute(query).all()
        latest: dict[str, datetime] = {}
        for actor, seen_at in rows:
            if actor not in latest or seen_at > latest[actor]:
                latest[actor] = seen_at
        people = [Here(a, False, at) for a, at in sorted(latest.items()) if a != self.actor]
        if self.actor in latest:
            people.append(Here(self.actor, True, latest[self.actor]))
        return people

    @staticmethod
    def _sweep(conn: Any, now: datetime) -> None:
        conn.execute(delete(P).where(P.c.seen_at < now - STALE_AFTER))
