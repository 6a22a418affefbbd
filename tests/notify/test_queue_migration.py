"""Schema version 10 on a database made at version 9: `db upgrade` adds the queue's columns
and index to notify_delivery, keeps the status updates' rows (kind NULL: not the queue's), and
the queue works after it. Both backends (the step's ALTERs are plain DDL both accept)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import inspect, text

from mlops_oncall.store import migrations
from mlops_oncall.store.db import open_store
from tests.notify.conftest import SECRET, T0, Answer

QUEUE_COLUMNS = ("kind", "message", "next_attempt_at", "lease_owner", "lease_until")


def _to_v9(url: str, incident_id: int) -> None:
    """Take the queue's columns and index away and say version 9, as a v9 database was."""
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_notify_delivery_due"))
        for name in QUEUE_COLUMNS:
            conn.execute(text(f"ALTER TABLE notify_delivery DROP COLUMN {name}"))
        conn.execute(
            text(
                "INSERT INTO notify_delivery (incident_id, update_seq, destination, type, "
                "idempotency_key, state, attempts, created_at, updated_at) VALUES "
                "(:iid, 5, 'hook', 'webhook', 'k9', 'delivered', 1, :t, :t)"
            ),
            {"iid": incident_id, "t": "2026-11-28T03:00:00.000000Z"},
        )
        conn.execute(text("UPDATE meta SET value='9' WHERE key='schema_version'"))
    store.close()


def test_version_9_upgrades_to_the_queue(make, receiver, monkeypatch, backend_url, clock):
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/{SECRET}")
    receiver.default = Answer(200, "ok")
    config = {
        "notify": {"hook": {"type": "webhook", "url": "${env:HOOK_URL}"}},
        "notifications": [{"when": "declared", "to": ["hook"]}],
    }
    first = make(config)
    iid = first.incidents.declare("Before the upgrade", "SEV1").row.id
    first.close()
    _to_v9(backend_url, iid)

    store = open_store(backend_url, upgrade=True)
    assert store.version == migrations.LATEST  # 10, and 11 after it
    with store.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("notify_delivery")}
        kinds = conn.execute(text("SELECT kind, state FROM notify_delivery")).all()
    store.close()
    assert set(QUEUE_COLUMNS) <= columns
    assert kinds == [(None, "delivered")]  # the status update's row, untouched

    s = make(config)
    assert s.dispatcher.items() == []  # a status update's row is not in the queue
    clock.advance(timedelta(seconds=1))
    asyncio.run(s.dispatcher.tick())  # notifications begin: the first declaration is older
    view = s.incidents.declare("After the upgrade", "SEV1")
    p = asyncio.run(s.dispatcher.tick())
    assert (p.queued, p.delivered) == (1, 1)
    [row] = s.dispatcher.items()
    assert (row.incident_id, row.state, row.created_at) == (
        view.row.id,
        "delivered",
        T0 + timedelta(seconds=1),
    )
