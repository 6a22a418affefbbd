"""Request bodies and auth over the app: 401, 413 (with and without Content-Length), 400."""

from __future__ import annotations

import json

from tests.intake.conftest import AUTH, TOKEN


async def test_healthz_needs_no_token_and_reads_the_store(client):
    r = await client.get("/healthz")
    assert r.status == 200
    assert await r.text() == "ok\n"


async def test_missing_and_wrong_token_are_401(client):
    r = await client.post("/changes", json={"service": "s", "version": "1"})
    assert r.status == 401
    assert await r.json() == {"error": "missing bearer token"}
    r = await client.post(
        "/changes", json={"service": "s", "version": "1"}, headers={"Authorization": "Bearer no"}
    )
    assert r.status == 401
    assert TOKEN not in await r.text()
    r = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert r.status == 401


async def test_oversized_body_with_content_length_is_413(make_client):
    client = await make_client(max_body=100)
    body = json.dumps({"service": "s", "version": "1", "notes": "x" * 200}).encode()
    r = await client.post("/changes", data=body, headers=AUTH)
    assert r.status == 413
    assert "100 bytes" in (await r.json())["error"]


async def test_oversized_chunked_body_is_413_as_it_flows(make_client):
    client = await make_client(max_body=100)
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(1000):  # 64 KiB; the daemon answers long before the end
            sent += 64
            yield b" " * 64

    r = await client.post("/changes", data=chunks(), headers=AUTH)
    assert r.status == 413
    assert "Content-Length" not in r.request_info.headers


async def test_malformed_json_is_400_with_the_reason(client):
    r = await client.post("/changes", data=b'{"service": ', headers=AUTH)
    assert r.status == 400
    assert (await r.json())["error"].startswith("malformed JSON: Expecting value at line 1")
    r = await client.post("/changes", data=b"[1, 2]", headers=AUTH)
    assert r.status == 400
    assert await r.json() == {"error": "expected a JSON object at the top level, got an array"}
    r = await client.post("/changes", data=b'{"a": NaN}', headers=AUTH)
    assert r.status == 400
    r = await client.post("/changes", data=b'{"a": "\xff"}', headers=AUTH)
    assert r.status == 400
