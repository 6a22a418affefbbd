"""A deferred Appender (one delivery of many alerts): the events go in together and the
incident row's head moves once, both at flush(), and the chain verifies, on both backends."""

from __future__ import annotations

from sqlalchemy import select

from mlops_oncall.store import timeline as tl
from mlops_oncall.store.tables import Event as EV
from mlops_oncall.store.tables import Incident as INC


def _head(conn, iid: int) -> tuple[int, str]:
    row = conn.execute(select(INC.c.head_seq, INC.c.head_hash).where(INC.c.id == iid)).one()
    return row.head_seq, row.head_hash


def test_the_head_moves_once_at_flush_and_the_chain_verifies(svc, store, clock):
    iid = svc.declare("p99 up", "SEV2", service="fraud-scoring").row.id
    with store.write() as conn:
        row = tl.lock_incident(conn, iid)
        before = _head(conn, iid)
        app = tl.Appender.for_row(conn, row, deferred=True)
        records = [
            app.append("note", ts=clock.now(), actor="alertmanager", text=f"alert {i}")
            for i in range(5)
        ]
        assert _head(conn, iid) == before  # not yet
        stored = select(EV.c.seq).where(EV.c.incident_id == iid)
        assert max(conn.execute(stored).scalars()) == before[0]  # nor the events
        app.flush()
        assert max(conn.execute(stored).scalars()) == before[0] + 5
        assert _head(conn, iid) == (before[0] + 5, records[-1].hash)
        app.flush()  # nothing more to move
        assert _head(conn, iid) == (before[0] + 5, records[-1].hash)
    assert [r.seq for r in records] == list(range(before[0] + 1, before[0] + 6))
    assert svc.verify(iid).ok
