"""Schema version 11 on a database made at version 10: notify_delivery.incident_id becomes
nullable (SQLite: the table rebuilt; PostgreSQL: ALTER COLUMN ... DROP NOT NULL), gains
slo_episode_id, keeps its rows, indexes and unique key, and slo_episode is created. The result
is the DDL of a fresh database, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, inspect, text

from mlops_oncall.store import migrations
from mlops_oncall.store.db import open_store

# notify_delivery as version 10 wrote it on SQLite (tests/store/fixtures/schema_fresh.sql then)
V10_SQLITE = """CREATE TABLE notify_delivery (
	id INTEGER NOT NULL, 
	incident_id INTEGER NOT NULL, 
	update_seq INTEGER NOT NULL, 
	destination VARCHAR NOT NULL, 
	type VARCHAR NOT NULL, 
	idempotency_key VARCHAR NOT NULL, 
	state VARCHAR NOT NULL, 
	attempts INTEGER NOT NULL, 
	body_sha256 VARCHAR, 
	http_status INTEGER, 
	response TEXT, 
	error TEXT, 
	external_id VARCHAR, 
	created_at VARCHAR(27) NOT NULL, 
	updated_at VARCHAR(27) NOT NULL, 
	kind VARCHAR, 
	message TEXT, 
	next_attempt_at VARCHAR(27), 
	lease_owner VARCHAR, 
	lease_until VARCHAR(27), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_notify_delivery_key UNIQUE (idempotency_key), 
	FOREIGN KEY(incident_id) REFERENCES incident (id)
)"""  # noqa: W291 (SQLAlchemy's DDL ends its lines with ", ")
ROW = (
    "INSERT INTO notify_delivery (incident_id, update_seq, destination, type, idempotency_key, "
    "state, attempts, created_at, updated_at, kind, message, next_attempt_at) VALUES "
    "(:iid, 7, 'pager', 'pagerduty', :key, 'queued', 0, :t, :t, 'declared', '{}', :t)"
)
T = "2026-11-28T03:00:00.000000Z"


def _to_v10(url: str, incident_id: int) -> None:
    """Take version 11 away: slo_episode dropped, notify_delivery as version 10 had it."""
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE slo_episode"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE notify_delivery DROP COLUMN slo_episode_id"))
            conn.execute(text("ALTER TABLE notify_delivery ALTER COLUMN incident_id SET NOT NULL"))
        else:
            conn.execute(text("DROP TABLE notify_delivery"))
            conn.execute(text(V10_SQLITE))
            conn.execute(
                text(
                    "CREATE INDEX ix_notify_delivery_due ON notify_delivery "
                    "(state, next_attempt_at)"
                )
            )
            conn.execute(
                text("CREATE INDEX ix_notify_delivery_incident_id ON notify_delivery (incident_id)")
            )
        conn.execute(text(ROW), {"iid": incident_id, "key": "k10", "t": T})
        conn.execute(text("UPDATE meta SET value='10' WHERE key='schema_version'"))
    store.close()


def _schema(url: str) -> dict:
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                return dict(
                    conn.execute(
                        text(
                            "SELECT name, sql FROM sqlite_master "
                            "WHERE tbl_name IN ('notify_delivery', 'slo_episode')"
                        )
                    ).all()
                )
            from tests.team.test_db import ddl

            return {
                k: [r for r in v if r[0] in ("notify_delivery", "slo_episode")]
                for k, v in ddl(url.replace("postgresql+psycopg://", "postgresql://")).items()
            }
    finally:
        store.close()


def test_version_10_upgrades_to_nullable_incidents_and_episodes(backend_url, make):
    s = make()
    iid = s.incidents.declare("Before the upgrade", "SEV1").row.id
    s.close()
    fresh = _schema(backend_url)
    _to_v10(backend_url, iid)
    store = open_store(backend_url, upgrade=True)
    assert store.version == migrations.LATEST == 11
    with store.engine.begin() as conn:
        cols = {c["name"]: c for c in inspect(conn).get_columns("notify_delivery")}
        assert cols["incident_id"]["nullable"] and "slo_episode_id" in cols
        kept = conn.execute(
            text("SELECT incident_id, idempotency_key, kind, state FROM notify_delivery")
        ).all()
        assert kept == [(iid, "k10", "declared", "queued")]  # the row survived the rebuild
        # an SLO page's notification: no incident
        conn.execute(
            text(
                "INSERT INTO notify_delivery (update_seq, destination, type, idempotency_key, "
                "state, attempts, created_at, updated_at, slo_episode_id) VALUES "
                "(0, 'pager', 'pagerduty', 'k11', 'queued', 0, :t, :t, 1)"
            ),
            {"t": T},
        )
    with pytest.raises(exc.IntegrityError), store.engine.begin() as conn:  # the unique key kept
        conn.execute(text(ROW), {"iid": iid, "key": "k10", "t": T})
    store.close()
    assert _schema(backend_url) == fresh
