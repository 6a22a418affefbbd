"""POST /alertmanager over the daemon's app and a real SQLite store: 200 with the summary once
stored, a resent notification adds nothing, 400 with the reason for a bad payload, and 503 when
the store fails, after which Alertmanager's retry is stored once (nothing half-written)."""

from __future__ import annotations

import sqlite3

from mlops_oncall.store.tables import Alert
from tests.alerts.conftest import alert, payload
from tests.intake.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _metric(client, line: str) -> str:
    text = await (await client.get("/metrics", headers=AUTH)).text()
    return next((x for x in text.splitlines() if x.startswith(line)), "")


async def test_a_notification_is_stored_once_and_answered_with_a_summary(client):
    body = payload(alert("aaaa000000000001"), alert("aaaa000000000002"))
    r = await client.post("/alertmanager", json=body, headers=AUTH)
    assert r.status == 200
    got = await r.json()
    assert got == {
        "group": "ALG-0001",
        "state": "inbox",
        "incident": None,
        "fired": ["aaaa000000000001", "aaaa000000000002"],
        "resolved": [],
        "new_group": True,
    }
    r = await client.post("/alertmanager", json=body, headers=AUTH)
    assert (r.status, (await r.json())["fired"]) == (200, [])
    stored = await _metric(client, 'mlops_oncall_intake_stored_total{endpoint="/alertmanager"}')
    assert stored.endswith(" 2.0")


async def test_a_bad_payload_is_400_with_the_reason(client):
    r = await client.post("/alertmanager", json={"version": "3"}, headers=AUTH)
    assert r.status == 400
    assert (await r.json())["error"].startswith('version: expected "4"')
    body = payload(alert("a") | {"fingerprint": ""})
    r = await client.post("/alertmanager", json=body, headers=AUTH)
    assert (r.status, (await r.json())["error"]) == (
        400,
        "alerts[0].fingerprint: expected a non-empty string",
    )
    rejected = await _metric(
        client, 'mlops_oncall_intake_rejected_total{endpoint="/alertmanager",reason="invalid"}'
    )
    assert rejected.endswith(" 2.0")


async def test_a_failed_store_is_503_and_the_retry_is_stored_once(client, tmp_path):
    db = tmp_path / "oncall.db"
    con = sqlite3.connect(db)
    con.execute("DROP TABLE alert")  # the store fails mid-transaction: after the group's insert
    con.commit()
    con.close()
    body = payload(alert("bbbb000000000001"))
    r = await client.post("/alertmanager", json=body, headers=AUTH)
    assert r.status == 503
    assert "the store could not record it" in (await r.json())["error"]

    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{db}")
    Alert.create(engine)  # repaired; Alertmanager retries the 5xx
    engine.dispose()
    r = await client.post("/alertmanager", json=body, headers=AUTH)
    assert r.status == 200
    assert (await r.json())["group"] == "ALG-0001"  # the failed attempt left no group behind
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM alert_group").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM alert").fetchone() == (1,)
    finally:
        con.close()
