"""GET /metrics parses as Prometheus text (prometheus_client's own parser) and counts what the
daemon received, stored and refused."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.intake.conftest import AUTH


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_received_stored_and_rejected_by_reason(make_client):
    client = await make_client(max_body=2048)
    change = {"service": "ranker", "version": "v1", "at": "2026-12-01T10:00:00Z"}
    assert (await client.post("/changes", json=change, headers=AUTH)).status == 201
    assert (await client.post("/changes", json=change, headers=AUTH)).status == 200
    assert (await client.post("/changes", data=b"{", headers=AUTH)).status == 400
    assert (await client.post("/changes", data=b"1", headers=AUTH)).status == 400
    assert (await client.post("/changes", json={"service": "x"}, headers=AUTH)).status == 400
    assert (await client.post("/changes", data=b" " * 4096, headers=AUTH)).status == 413
    assert (await client.post("/changes", json=change)).status == 401
    assert (await client.get("/metrics")).status == 401

    r = await client.get("/metrics", headers=AUTH)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=")
    got = _samples(await r.text())
    ep = ("endpoint", "/changes")
    assert got["mlops_oncall_intake_received_total", (ep,)] == 6  # past auth
    assert got["mlops_oncall_intake_stored_total", (ep,)] == 2
    for reason, count in [
        ("malformed_json", 1),
        ("not_an_object", 1),
        ("invalid", 1),
        ("too_large", 1),
        ("unauthorized", 1),
    ]:
        assert got["mlops_oncall_intake_rejected_total", (ep, ("reason", reason))] == count
    assert (
        got[
            "mlops_oncall_intake_rejected_total",
            (("endpoint", "/metrics"), ("reason", "unauthorized")),
        ]
        == 1
    )
    assert got["mlops_oncall_intake_store_seconds_count", (ep,)] == 2
    assert got["mlops_oncall_intake_store_seconds_sum", (ep,)] > 0
    assert got["process_resident_memory_bytes", ()] > 0
    assert ("python_info", (("implementation", "CPython"),)) in {
        (n, tuple(kv for kv in labels if kv[0] == "implementation")) for n, labels in got
    }


async def test_healthz_is_plain_ok(client):
    r = await client.get("/healthz")
    assert (r.status, await r.text(), r.content_type) == (200, "ok\n", "text/plain")
