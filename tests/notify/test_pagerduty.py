"""PagerDuty Events API v2 through the notification queue, against a local receiver that
answers as PagerDuty documents it.

PagerDuty's developer docs (github.com/PagerDuty/developer-docs, docs/events-API-v2):
"Send an Alert Event": ``POST https://events.pagerduty.com/v2/enqueue`` with ``routing_key``,
``event_action`` (trigger, acknowledge, resolve), ``dedup_key`` (at most 255 characters) and,
for a trigger, ``payload`` {summary (at most 1024 characters), source, severity (critical,
error, warning, info), timestamp, component, group, class, custom_details}; acknowledge and
resolve carry only routing_key, dedup_key and event_action. "Overview" (response codes): 202
accepted ``{"status": "success", "message": "Event processed", "dedup_key": ...}``, 400
``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``, 429
throttled (retry later), 5xx (retry)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from mlops_oncall.notify import queue_records as qr
from tests.notify.conftest import Answer

pytestmark = pytest.mark.timeout(60)

ROUTING = "r0ut1ngk3y0123456789abcdef012345"
ACCEPTED = Answer(202, '{"status":"success","message":"Event processed","dedup_key":"x"}')


def _pd(make, receiver, monkeypatch, **rule):
    monkeypatch.setenv("PD_KEY", ROUTING)
    return make(
        {
            "notify": {
                "pager": {
                    "type": "pagerduty",
                    "routing_key": "${env:PD_KEY}",
                    "events_url": f"{receiver.url}/v2/enqueue",
                }
            },
            "notifications": [{"when": "declared", "to": ["pager"], **rule}],
        }
    )


def tick(s):
    return asyncio.run(s.dispatcher.tick())


def _prefix(s) -> str:
    with s.store.write() as conn:
        return qr.workspace_id(conn)


def test_trigger_acknowledge_resolve_exact_payloads(make, receiver, monkeypatch, clock):
    receiver.default = ACCEPTED
    s = _pd(make, receiver, monkeypatch, min_severity="SEV2")
    view = s.incidents.declare("Fraud model p99 over 2s", "SEV1", service="fraud-api")
    p = tick(s)
    assert (p.queued, p.delivered, p.failed) == (1, 1, 0)
    dedup = f"{_prefix(s)}/{view.id}"
    assert len(receiver.seen) == 1
    r = receiver.seen[0]
    assert (r.method, r.path, r.headers["Content-Type"]) == (
        "POST",
        "/v2/enqueue",
        "application/json",
    )
    assert r.json == {
        "routing_key": ROUTING,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {
            "summary": f"[SEV1] {view.id} declared: Fraud model p99 over 2s",
            "source": "fraud-api",
            "severity": "critical",
            "timestamp": "2026-11-28T03:00:00Z",
            "class": "declared",
            "component": "fraud-api",
            "custom_details": {
                "incident": view.id,
                "title": "Fraud model p99 over 2s",
                "status": "triage",
                "severity": "SEV1",
            },
        },
        "client": "mlops-oncall",
    }
    assert tick(s).queued == 0  # derived again: the same key, nothing new

    clock.advance(timedelta(minutes=3))
    s.incidents.ack(view.id)
    p = tick(s)
    assert (p.queued, p.delivered) == (1, 1)
    assert receiver.seen[1].json == {
        "routing_key": ROUTING,
        "event_action": "acknowledge",
        "dedup_key": dedup,
    }
    clock.advance(timedelta(minutes=30))
    s.incidents.resolve(view.id)
    tick(s)
    assert receiver.seen[2].json == {
        "routing_key": ROUTING,
        "event_action": "resolve",
        "dedup_key": dedup,
    }
    assert len(receiver.seen) == 3
    # each sent notification is on the timeline, once, and the chain still verifies
    notified = [e for e in s.incidents.events(view.id) if e.kind == "notified"]
    assert [e.data["kind"] for e in notified] == ["declared", "acknowledge", "resolve"]
    assert {e.actor for e in notified} == {"monitor"}
    assert s.incidents.verify(view.id).ok
    # the routing key never reached the database
    with s.store.read() as conn:
        rows = qr.items(conn)
    assert all(ROUTING not in (r.message or "") + (r.response or "") for r in rows)


def test_below_min_severity_and_acks_without_a_trigger_send_nothing(make, receiver, monkeypatch):
    receiver.default = ACCEPTED
    s = _pd(make, receiver, monkeypatch, min_severity="SEV2")
    view = s.incidents.declare("Slow batch scoring", "SEV3", service="batch")
    s.incidents.ack(view.id)
    s.incidents.resolve(view.id)
    p = tick(s)
    assert (p.queued, p.delivered) == (0, 0)
    assert receiver.seen == []


def test_429_waits_retry_after_on_the_queue_then_delivers(make, receiver, monkeypatch, clock):
    receiver.script += [Answer(429, "throttled", {"Retry-After": "20"}), Answer(500, "oops")]
    receiver.default = ACCEPTED
    s = _pd(make, receiver, monkeypatch)
    view = s.incidents.declare("Fraud model down", "SEV1", service="fraud-api")
    p = tick(s)
    assert (p.delivered, p.retrying) == (0, 1)
    [row] = s.dispatcher.items()
    assert (row.state, row.attempts, row.http_status) == ("queued", 1, 429)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=20)
    clock.advance(timedelta(seconds=19))
    assert tick(s).delivered == 0 and len(receiver.seen) == 1  # not due yet: not sent
    clock.advance(timedelta(seconds=1))
    p = tick(s)  # the 500: backoff 10 s (5 s doubled for the second attempt)
    assert p.retrying == 1
    [row] = s.dispatcher.items()
    assert row.next_attempt_at == clock.now() + timedelta(seconds=10)
    clock.advance(timedelta(seconds=10))
    assert tick(s).delivered == 1
    [row] = s.dispatcher.items()
    assert (row.state, row.attempts, row.http_status) == ("delivered", 3, 202)
    assert len({r.body for r in receiver.seen}) == 1  # the same bytes and dedup_key each time
    assert view.id in json.loads(receiver.seen[0].body)["dedup_key"]


def test_400_is_final_with_pagerdutys_error(make, receiver, monkeypatch):
    receiver.default = Answer(
        400,
        '{"status":"invalid event","message":"Event object is invalid",'
        '"errors":["Length of \'routing_key\' is incorrect (should be 32 characters)"]}',
    )
    s = _pd(make, receiver, monkeypatch)
    s.incidents.declare("Fraud model down", "SEV1")
    p = tick(s)
    assert (p.delivered, p.failed) == (0, 1)
    [row] = s.dispatcher.items()
    assert (row.state, row.attempts, row.http_status) == ("failed", 1, 400)
    assert row.error.startswith("destination 'pager' (pagerduty) answered HTTP 400: ")
    assert "Event object is invalid" in row.error
    assert tick(s).delivered == 0 and len(receiver.seen) == 1  # never sent again


def test_a_long_title_is_cut_to_pagerdutys_summary_limit(make, receiver, monkeypatch):
    receiver.default = ACCEPTED
    s = _pd(make, receiver, monkeypatch)
    s.incidents.declare("x" * 2000, "SEV4")
    tick(s)
    payload = receiver.seen[0].json["payload"]
    assert len(payload["summary"]) == 1024 and payload["summary"].endswith("…")
    assert payload["severity"] == "info" and payload["source"] == "mlops-oncall"


def test_a_status_update_is_refused_for_pagerduty(make, receiver, monkeypatch):
    from mlops_oncall.formats.errors import BadInput

    s = _pd(make, receiver, monkeypatch)
    view = s.incidents.declare("Fraud model down", "SEV1")
    with pytest.raises(BadInput, match="'pager' is a pagerduty destination: it takes notif"):
        s.notify.post(view.id, "Investigating.", "pager")
    assert s.notify.names() == [] and receiver.seen == []
    assert [e.kind for e in s.incidents.events(view.id)].count("status_update") == 0
