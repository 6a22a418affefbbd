"""`notifications:` rules: which declarations go where (min_severity, several destinations,
drills never), nothing for events before notifications began, and a bad rule as one located
line with exit 2."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.notify.conftest import SECRET, Answer

pytestmark = pytest.mark.timeout(60)


def tick(s):
    return asyncio.run(s.dispatcher.tick())


def _session(make, receiver, monkeypatch, rules):
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/{SECRET}")
    monkeypatch.setenv("SLACK_URL", f"{receiver.url}/services/{SECRET}")
    receiver.default = Answer(200, "ok")
    return make(
        {
            "notify": {
                "team": {"type": "slack", "url": "${env:SLACK_URL}"},
                "hook": {"type": "webhook", "url": "${env:HOOK_URL}"},
            },
            "notifications": rules,
        }
    )


def test_declared_at_or_above_min_severity_goes_to_each_destination(make, receiver, monkeypatch):
    s = _session(
        make,
        receiver,
        monkeypatch,
        [
            {"when": "declared", "min_severity": "SEV2", "to": ["team", "hook"]},
            {"when": "declared", "min_severity": "SEV1", "to": ["hook"]},  # the same pair: once
        ],
    )
    tick(s)  # notifications begin here
    sev1 = s.incidents.declare("Fraud <!channel> model down", "SEV1", service="fraud-api")
    s.incidents.declare("Batch job slow", "SEV3")
    s.incidents.declare("Drill: fraud down", "SEV1", drill=True)
    p = tick(s)
    assert (p.queued, p.delivered) == (2, 2)
    by_path = {r.path.split("/")[1]: r for r in receiver.seen}
    assert by_path["services"].json == {
        "text": f"[SEV1] {sev1.id} declared: Fraud &lt;!channel&gt; model down"
    }
    hook = by_path["hooks"].json
    assert hook["incident"] == {
        "id": sev1.id,
        "title": "Fraud <!channel> model down",
        "severity": "SEV1",
        "status": "triage",
        "service": "fraud-api",
    }
    assert hook["notification"]["kind"] == "declared"
    # a secret in the path never reaches a row or the timeline
    rows = s.dispatcher.items()
    assert [r.state for r in rows] == ["delivered", "delivered"]
    assert all(SECRET not in (r.message + (r.response or "")) for r in rows)
    assert [e.data["destination"] for e in s.incidents.events(sev1.id) if e.kind == "notified"] == [
        "team",
        "hook",
    ]


def test_events_before_notifications_began_are_not_sent(make, receiver, monkeypatch, clock):
    s = _session(make, receiver, monkeypatch, [{"when": "declared", "to": ["hook"]}])
    s.incidents.declare("Last week's incident", "SEV1")
    clock.advance(timedelta(seconds=1))
    assert tick(s).queued == 0  # the first pass marks the start; the declaration came before
    s.incidents.declare("A new one", "SEV1")
    assert tick(s).delivered == 1 and len(receiver.seen) == 1


def test_a_slack_timeout_is_not_sent_again(make, receiver, monkeypatch):
    """Slack has no idempotency key: a request that timed out may have arrived, so the queue
    marks it failed rather than posting it twice."""
    s = _session(make, receiver, monkeypatch, [{"when": "declared", "to": ["team"]}])
    s.notify.destinations["team"] = s.notify.destinations["team"].model_copy(
        update={"timeout": timedelta(seconds=0.5)}
    )
    tick(s)
    receiver.script.append(Answer(hang=True))
    s.incidents.declare("Fraud model down", "SEV1")
    p = tick(s)
    assert (p.delivered, p.failed) == (0, 1)
    [row] = s.dispatcher.items()
    assert row.state == "failed"
    assert row.error.endswith("it may have arrived, so it was not sent again")


@pytest.mark.parametrize(
    ("yaml", "line", "expected"),
    [
        ("notifications:\n  - when: declared\n    to: [pager]\n", 6,
         "notifications: rule 1 sends to 'pager', which is not under notify: (known: hook)"),
        ("notifications:\n  - when: unacknowledged\n    to: [hook]\n", 6,
         "notifications[0]: after: is needed with when: unacknowledged"),
        ("notifications:\n  - when: declared\n    after: 5m\n    to: [hook]\n", 6,
         "notifications[0]: after: is for when: unacknowledged, not declared"),
        ("notifications:\n  - when: paged\n    to: [hook]\n", 6, "notifications[0].when"),
        ("notifications:\n  - when: declared\n    to: []\n", 7, "notifications[0].to"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_a_located_error(cli, tmp_path, yaml, line, expected):
    hook = "notify:\n  hook:\n    type: webhook\n    url: ${env:X}\n"
    (tmp_path / "oncall.yaml").write_text(hook + yaml)
    r = cli("incident", "list")
    assert r.code == 2
    first = r.err.strip().splitlines()[0]
    assert first.startswith(f"{tmp_path / 'oncall.yaml'}:{line}:"), first
    assert expected in first, first


def test_a_statuspage_takes_no_notifications(cli, tmp_path):
    (tmp_path / "oncall.yaml").write_text(
        "notify:\n  sp:\n    type: statuspage\n    page_id: p\n    key: ${env:K}\n"
        "notifications:\n  - when: declared\n    to: [sp]\n"
    )
    r = cli("incident", "list")
    assert r.code == 2
    assert "rule 1 sends to 'sp', a statuspage: it takes status updates only" in r.err


def test_raised_past_min_severity_later_is_sent_once(make, receiver, monkeypatch, clock):
    s = _session(
        make, receiver, monkeypatch, [{"when": "declared", "min_severity": "SEV2", "to": ["hook"]}]
    )
    tick(s)
    view = s.incidents.declare("Fraud model slow", "SEV3")
    assert tick(s).queued == 0
    clock.advance(timedelta(minutes=5))
    s.incidents.set_severity(view.id, "SEV1")
    p = tick(s)
    assert (p.queued, p.delivered) == (1, 1)
    doc = receiver.seen[0].json
    assert doc["notification"]["kind"] == "declared"
    assert doc["incident"]["severity"] == "SEV1"
    assert doc["notification"]["at"] == "2026-11-28T03:05:00Z"
    # down and up again: the declaration reached the hook already
    s.incidents.set_severity(view.id, "SEV3")
    s.incidents.set_severity(view.id, "SEV2")
    assert tick(s).queued == 0 and len(receiver.seen) == 1


def test_the_draft_leaves_notified_out(make, receiver, monkeypatch):
    s = _session(make, receiver, monkeypatch, [{"when": "declared", "to": ["hook"]}])
    tick(s)
    view = s.incidents.declare("Fraud model down", "SEV1")
    assert tick(s).delivered == 1
    assert "notified" not in s.notify.draft(view.id)
