"""Delivery against a local receiver: 429 with Retry-After and 5xx retried with backoff a
bounded number of times (waits recorded on a fake clock, no real waiting), a 4xx final at
once with the destination's error, a hanging receiver bounded by the timeout, one idempotency
key per update on every attempt and resend, nothing posted twice, and the secret in the URL
never in the database file or an output.

Slack's documented answers (https://api.slack.com/messaging/webhooks, "Handling errors"):
400 ``invalid_payload``, 403 ``invalid_token``, 404 ``no_service``, 410
``channel_is_archived``; rate limits answer 429 with ``Retry-After`` in seconds
(https://api.slack.com/apis/rate-limits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notify.conftest import SECRET, Answer

pytestmark = pytest.mark.timeout(60)


def _hook(make, receiver, monkeypatch, **extra):
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/{SECRET}")
    s = make({"notify": {"hook": {"type": "webhook", "url": "${env:HOOK_URL}", **extra}}})
    view = s.incidents.declare("Fraud model p99 over 2s", "SEV1", service="fraud-api")
    return s, view


def _slack(make, receiver, monkeypatch, **extra):
    monkeypatch.setenv("SLACK_URL", f"{receiver.url}/services/{SECRET}")
    s = make({"notify": {"team": {"type": "slack", "url": "${env:SLACK_URL}", **extra}}})
    view = s.incidents.declare("Fraud model p99 over 2s", "SEV1", service="fraud-api")
    return s, view


def test_429_waits_retry_after_then_delivers(make, receiver, monkeypatch):
    s, view = _slack(make, receiver, monkeypatch)
    receiver.script += [
        Answer(429, "rate_limited", {"Retry-After": "7"}),
        Answer(429, "rate_limited", {"Retry-After": "3600"}),  # capped
        Answer(200, "ok"),
    ]
    posted = s.notify.post(view.id, "Investigating.", "team")
    d = posted.delivery
    assert (d.state, d.http_status, d.attempts, d.response) == ("delivered", 200, 3, "ok")
    assert s.notify.sleep.waits == [7.0, 60.0]
    assert len({r.body for r in receiver.seen}) == 1  # the same bytes each time


def test_500_backoff_is_bounded_and_recorded_failed(make, receiver, monkeypatch):
    s, view = _hook(make, receiver, monkeypatch, retries=2)
    receiver.default = Answer(503, "upstream unavailable")
    posted = s.notify.post(view.id, "Investigating.", "hook")
    d = posted.delivery
    assert not posted.ok
    assert (d.state, d.http_status, d.attempts) == ("failed", 503, 3)
    assert d.error == "destination 'hook' (webhook) answered HTTP 503: upstream unavailable"
    assert s.notify.sleep.waits == [1.0, 2.0]
    keys = {r.headers["Idempotency-Key"] for r in receiver.seen}
    assert keys == {d.idempotency_key} and len(receiver.seen) == 3


def test_400_is_final_at_once_with_the_destinations_error(make, receiver, monkeypatch):
    s, view = _slack(make, receiver, monkeypatch)
    receiver.script.append(Answer(400, "invalid_payload"))
    posted = s.notify.post(view.id, "Investigating.", "team")
    d = posted.delivery
    assert (d.state, d.http_status, d.attempts) == ("failed", 400, 1)
    assert d.error == "destination 'team' (slack) answered HTTP 400: invalid_payload"
    assert s.notify.sleep.waits == [] and len(receiver.seen) == 1


def test_a_hanging_receiver_is_bounded_by_the_timeout(make, receiver, monkeypatch):
    # Slack takes no idempotency key: an unanswered request may have posted, so no resend
    s, view = _slack(make, receiver, monkeypatch, timeout="0.3s")
    receiver.default = Answer(hang=True)
    posted = s.notify.post(view.id, "Investigating.", "team")
    d = posted.delivery
    assert (d.state, d.attempts, d.http_status) == ("failed", 1, None)
    assert d.error == (
        "destination 'team' (slack) did not answer within 0.3s; it may have arrived, "
        "so it was not sent again"
    )
    assert len(receiver.seen) == 1


def test_a_hanging_webhook_is_retried_with_its_key(make, receiver, monkeypatch):
    s, view = _hook(make, receiver, monkeypatch, timeout="0.3s", retries=1)
    receiver.script.append(Answer(hang=True))
    receiver.script.append(Answer(202, "{}"))
    posted = s.notify.post(view.id, "Investigating.", "hook")
    assert posted.ok and posted.delivery.attempts == 2
    a, b = receiver.seen
    assert a.headers["Idempotency-Key"] == b.headers["Idempotency-Key"] and a.body == b.body


def test_no_double_post(make, receiver, monkeypatch):
    s, view = _hook(make, receiver, monkeypatch, retries=0)
    receiver.script.append(Answer(500, "boom"))
    first = s.notify.post(view.id, "Investigating.", "hook")
    assert not first.ok
    # the same text again resends the same update with the same key: no second update
    second = s.notify.post(view.id, "Investigating.", "hook")
    assert second.ok and not second.new_update and second.event.seq == first.event.seq
    assert second.delivery.attempts == 2
    # once delivered, posting it again sends nothing
    third = s.notify.post(view.id, "Investigating.", "hook")
    assert third.ok and not third.sent
    assert len(receiver.seen) == 2
    assert {r.headers["Idempotency-Key"] for r in receiver.seen} == {first.delivery.idempotency_key}
    kinds = [e.kind for e in s.incidents.events(view.id)]
    assert kinds.count("status_update") == 1
    # a different text is a new update with its own key
    fourth = s.notify.post(view.id, "Rolled back.", "hook")
    assert fourth.new_update and fourth.delivery.idempotency_key != first.delivery.idempotency_key


@pytest.mark.sqlite_only("greps the SQLite database file for the secret")
def test_the_secret_never_reaches_the_store(make, receiver, monkeypatch, tmp_path):
    s, view = _slack(make, receiver, monkeypatch)
    receiver.script.append(Answer(403, f"invalid_token for /services/{SECRET}"))  # echoed
    posted = s.notify.post(view.id, f"the hook is {SECRET}", "team")
    assert SECRET not in (posted.delivery.response or "") + (posted.delivery.error or "")
    assert SECRET not in posted.event.text
    s.close()
    for f in Path(tmp_path).glob("oncall.db*"):
        assert SECRET.encode() not in f.read_bytes()
