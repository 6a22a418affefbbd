"""`when: slo_page`: a real workspace (the gallery's checks and runbooks, slos.yaml over
fraud.ready), its minute roll-ups written as the monitor writes them, a fixed clock, and a
local receiver standing in for PagerDuty, Slack and the webhook (PagerDuty Events API v2's
documented body: see notify/pagerduty.py). A page row starts firing → one notification per
destination; the same episode again → nothing; the episode ends → PagerDuty's resolve; a new
episode → a new trigger. Two dispatchers on one database → one notification per episode."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.formats.problems import ProblemsError
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.notify import slo_page_records as er
from mlops_oncall.notify.queue_records import workspace_id
from mlops_oncall.session import Session
from mlops_oncall.ui.gallery.slos import seed_polls
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, make_workspace
from tests.notify.conftest import Answer

PD_KEY = "R0UT1NGKEY0123456789abcdefabcdef"
SLOS = """\
slos:
  - id: fraud-availability
    checks: [fraud.ready]
    objective: 99.9
"""
NOTIFY = """\
database: {url}
notify:
  pager:
    type: pagerduty
    routing_key: ${{env:PD_KEY}}
    events_url: {receiver}/v2/enqueue
  chat:
    type: slack
    url: ${{env:SLACK_URL}}
  hook:
    type: webhook
    url: ${{env:HOOK_URL}}
notifications:
  - when: slo_page
    to: [pager, chat, hook]
"""


def polls(start, end, state):
    """One poll of fraud.ready a minute at :30, for the minutes in [start, end)."""
    at = start + timedelta(seconds=30)
    while at < end:
        yield "fraud.ready", at, state
        at += timedelta(minutes=1)


@pytest.fixture
def workspace(tmp_path, backend_url, receiver, monkeypatch):
    monkeypatch.setenv("PD_KEY", PD_KEY)
    monkeypatch.setenv("SLACK_URL", f"{receiver.url}/slack")
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hook")
    receiver.default = Answer(202, '{"status":"success"}')
    cfg = make_workspace(tmp_path, FIXED_CHECKS)
    with cfg.open("a") as f:
        f.write(NOTIFY.format(url=backend_url, receiver=receiver.url))
    (cfg.parent / "slos.yaml").write_text(SLOS)
    return cfg


@pytest.fixture
def session(workspace):
    made = []

    def build(clock):
        s = Session(load_workspace(workspace), clock=clock)
        made.append(s)
        return s

    yield build
    for s in made:
        s.close()


def seed(s, start, end, state):
    seed_polls(s.store, polls(start, end, state), s.clock.now())


def tick(s):
    return asyncio.run(s.dispatcher.tick())


def test_an_episode_notifies_once_then_resolves_and_a_new_one_triggers(session, receiver):
    clock = FixedClock(T0)
    s = session(clock)
    seed(s, T0 - timedelta(hours=2), T0 - timedelta(minutes=10), "up")
    seed(s, T0 - timedelta(minutes=10), T0, "down")  # 10 of the last 60 minutes down

    p = tick(s)
    assert (p.queued, p.delivered, p.failed) == (3, 3, 0)
    by_path = {r.path: r for r in receiver.seen}
    assert sorted(by_path) == ["/hook", "/slack", "/v2/enqueue"]
    with s.store.read() as conn:
        prefix = workspace_id(conn)
        [ep] = er.episodes(conn)
    assert (ep["slo"], ep["windows"], ep["started_at"], ep["ended_at"]) == (
        "fraud-availability",
        "1h/5m",
        T0,
        None,
    )
    key = f"{prefix}/SLO-fraud-availability/{rfc3339(T0)}"
    summary = (
        "SLO fraud-availability paging: burn rate 166.7x over 1h/5m (page at 14.4x), "
        "-8233.33% of the budget left"  # 10 bad polls of 120 against a 0.1% budget
    )
    assert by_path["/v2/enqueue"].json == {
        "routing_key": PD_KEY,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": summary,
            "source": "fraud-scoring",
            "severity": "critical",
            "timestamp": rfc3339(T0),
            "class": "slo_page",
            "component": "fraud-scoring",
            "custom_details": {
                "slo": "fraud-availability",
                "objective": 99.9,
                "window": "30d",
                "checks": ["fraud.ready"],
                "rows": [
                    {"windows": "1h/5m", "threshold": 14.4, "long_rate": 166.67,
                     "short_rate": 1000.0},
                ],
                "budget_remaining": -8233.33,
                "runbook": "fraud-latency",
            },
        },
        "client": "mlops-oncall",
    }  # fmt: skip
    slack = by_path["/slack"].json["text"]
    assert slack.startswith(summary) and "runbook: fraud-latency" in slack
    hook = by_path["/hook"].json
    assert (hook["type"], hook["incident"], hook["slo"]["slo"]) == (
        "notification",
        None,
        "fraud-availability",
    )
    assert hook["notification"]["kind"] == "slo_page"
    assert all(PD_KEY not in r.body.decode() for r in receiver.seen[1:])

    # the same episode a minute later (still paging): nothing; within the minute: not evaluated
    clock.advance(timedelta(seconds=20))
    assert tick(s).queued == 0
    clock.advance(timedelta(seconds=40))
    assert (tick(s).queued, len(receiver.seen)) == (0, 3)
    with s.store.read() as conn:
        [ep] = er.episodes(conn)
    assert (ep["ended_at"], ep["evaluated_at"]) == (None, T0 + timedelta(minutes=1))

    # recovered: the last 5 minutes up, so no page row fires → PagerDuty's resolve only
    seed(s, T0, T0 + timedelta(minutes=8), "up")
    clock.set(T0 + timedelta(minutes=8))
    p = tick(s)
    assert (p.queued, p.delivered) == (1, 1)
    assert receiver.seen[-1].path == "/v2/enqueue"
    assert receiver.seen[-1].json == {
        "routing_key": PD_KEY,
        "event_action": "resolve",
        "dedup_key": key,
    }
    with s.store.read() as conn:
        [ep] = er.episodes(conn)
    assert ep["ended_at"] == T0 + timedelta(minutes=8)

    # down again: a new episode, a new trigger with its own key
    seed(s, T0 + timedelta(minutes=8), T0 + timedelta(minutes=14), "down")
    clock.set(T0 + timedelta(minutes=14))
    p = tick(s)
    assert (p.queued, p.delivered) == (3, 3)
    pd = [r.json for r in receiver.seen if r.path == "/v2/enqueue"]
    assert [e["event_action"] for e in pd] == ["trigger", "resolve", "trigger"]
    assert pd[2]["dedup_key"] == f"{prefix}/SLO-fraud-availability/{rfc3339(clock.now())}"
    rows = s.dispatcher.items()
    assert [(r.kind, r.destination, r.incident_id, r.state) for r in rows] == [
        ("slo_page", "pager", None, "delivered"),
        ("slo_page", "chat", None, "delivered"),
        ("slo_page", "hook", None, "delivered"),
        ("resolve", "pager", None, "delivered"),
        ("slo_page", "pager", None, "delivered"),
        ("slo_page", "chat", None, "delivered"),
        ("slo_page", "hook", None, "delivered"),
    ]


def test_the_open_incident_of_the_service_is_named(session, receiver):
    s = session(FixedClock(T0))
    seed(s, T0 - timedelta(hours=2), T0 - timedelta(minutes=10), "up")
    seed(s, T0 - timedelta(minutes=10), T0, "down")
    inc = s.incidents.declare("Fraud ready probe down", "SEV2", service="fraud-scoring")
    tick(s)
    pd = next(r.json for r in receiver.seen if r.path == "/v2/enqueue")
    assert pd["payload"]["custom_details"]["incident"] == f"INC-{inc.row.id:04d}"
    hook = next(r.json for r in receiver.seen if r.path == "/hook")
    assert hook["incident"] == {"id": f"INC-{inc.row.id:04d}"}


def test_two_dispatchers_notify_an_episode_once(session, receiver):
    clock = FixedClock(T0)
    a, b = session(clock), session(clock)
    seed(a, T0 - timedelta(hours=2), T0 - timedelta(minutes=10), "up")
    seed(a, T0 - timedelta(minutes=10), T0, "down")
    start = threading.Barrier(2)
    passes = []

    def run(s):
        start.wait(10)
        passes.append(tick(s))

    threads = [threading.Thread(target=run, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(p.queued for p in passes) == 3
    assert sum(p.delivered for p in passes) == 3
    assert sorted(r.path for r in receiver.seen) == ["/hook", "/slack", "/v2/enqueue"]
    with a.store.read() as conn:
        assert len(er.episodes(conn)) == 1


def test_unknown_slo_ids_are_located_errors(workspace):
    text = workspace.read_text().replace(
        "  - when: slo_page\n",
        "  - when: slo_page\n    slos: [fraud-availability, fraud-latency]\n",
    )
    workspace.write_text(text)
    with pytest.raises(ProblemsError) as got:
        load_workspace(workspace)
    [problem] = got.value.problems
    line = text.splitlines().index("    slos: [fraud-availability, fraud-latency]") + 1
    assert str(problem).startswith(f"{workspace}:{line}:")
    assert "unknown SLO 'fraud-latency'" in str(problem)
    assert "known: fraud-availability" in str(problem)


def test_slos_is_for_slo_page_rules_only(workspace):
    text = (
        workspace.read_text()
        + "  - when: declared\n    slos: [fraud-availability]\n    to: [chat]\n"
    )
    workspace.write_text(text)
    with pytest.raises(ProblemsError, match="slos: is for when: slo_page, not declared"):
        load_workspace(workspace)
