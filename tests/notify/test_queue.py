"""The queue across processes: a real `mlops-oncall notify run` killed with SIGKILL while a
request is in flight, a new one finishing the queue (each notification delivered once; the
one in flight sent again with the same dedup_key, which PagerDuty drops), two dispatchers
sharing one queue (each row sent by one of them), and `notify queue` / `notify flush` on the
CLI with their --json shapes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.config import Config, Workspace
from mlops_oncall.notify import queue_records as qr
from mlops_oncall.session import Session
from tests.conftest import console_script
from tests.notify.conftest import Answer

ROUTING = "r0ut1ngk3y0123456789abcdef012345"
ACCEPTED = Answer(202, '{"status":"success","message":"Event processed"}')


def _config(receiver, db) -> dict:
    return {
        "me": "alice",
        "witness": False,
        "database": f"sqlite:///{db}",
        "notify": {
            "pager": {
                "type": "pagerduty",
                "routing_key": "${env:PD_KEY}",
                "events_url": f"{receiver.url}/v2/enqueue",
                "timeout": "1s",
            }
        },
        "notifications": [{"when": "declared", "to": ["pager"]}],
    }


def _wait(what, condition, deadline_s: float = 60.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = condition()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _dispatcher(tmp_path):
    env = os.environ | {"PD_KEY": ROUTING, "MLOPS_ONCALL_ACTOR": "alice"}
    return subprocess.Popen(
        [console_script(), "notify", "run", "--interval", "0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.timeout(120)
def test_a_dispatcher_killed_mid_queue_and_a_new_one_finishing(tmp_path, receiver, monkeypatch):
    import yaml

    db = tmp_path / "oncall.db"
    (tmp_path / "oncall.yaml").write_text(yaml.safe_dump(_config(receiver, db)))
    monkeypatch.setenv("PD_KEY", ROUTING)
    s = Session(Workspace(Config.model_validate(_config(receiver, db)), root=tmp_path))
    with s.store.write() as conn:  # notifications began before these declarations
        qr.since(conn, datetime.now(UTC) - timedelta(hours=1))
        prefix = qr.workspace_id(conn)
    ids = [s.incidents.declare(f"Model {i} down", "SEV1").id for i in range(5)]
    # the first two accepted, the third held (in flight) until the test ends
    receiver.script += [ACCEPTED, ACCEPTED, Answer(hang=True)]
    receiver.default = ACCEPTED

    first = _dispatcher(tmp_path)
    try:
        _wait("the third request", lambda: len(receiver.seen) >= 3)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    with s.store.read() as conn:
        states = [r.state for r in qr.items(conn)]
    assert states[:3] == ["delivered", "delivered", "sending"], states  # killed mid-send

    second = _dispatcher(tmp_path)
    try:
        _wait(
            "every row delivered",
            lambda: [r.state for r in s.dispatcher.items()] == ["delivered"] * 5,
        )
    finally:
        second.send_signal(signal.SIGTERM)
        err = second.communicate(timeout=10)[1]
    rows = s.dispatcher.items()
    assert [r.attempts for r in rows] == [1, 1, 2, 1, 1]
    keys = Counter(json.loads(r.body)["dedup_key"] for r in receiver.seen)
    assert keys == {
        f"{prefix}/{ids[0]}": 1,
        f"{prefix}/{ids[1]}": 1,
        f"{prefix}/{ids[2]}": 2,  # the one in flight, again: the same bytes and key
        f"{prefix}/{ids[3]}": 1,
        f"{prefix}/{ids[4]}": 1,
    }, err
    third = [r.body for r in receiver.seen if ids[2] in r.body.decode()]
    assert third[0] == third[1]
    for ref in ids:  # recorded once each, and every chain verifies
        assert [e.kind for e in s.incidents.events(ref)].count("notified") == 1
        assert s.incidents.verify(ref).ok
    s.close()


@pytest.mark.timeout(120)
def test_two_dispatchers_send_each_row_once(make, receiver, monkeypatch):
    """Two sessions (two engines, as two processes would have) over one database, dispatching
    at once in two threads on a clock that never lets a lease run out: a row sent twice would
    be a double claim, not a retry."""
    monkeypatch.setenv("PD_KEY", ROUTING)
    receiver.default = ACCEPTED
    config = {
        "notify": {
            "pager": {
                "type": "pagerduty",
                "routing_key": "${env:PD_KEY}",
                "events_url": f"{receiver.url}/v2/enqueue",
            }
        },
        "notifications": [{"when": "declared", "to": ["pager"]}],
    }
    a, b = make(config), make(config)
    asyncio.run(a.dispatcher.tick())  # notifications begin
    ids = [a.incidents.declare(f"Model {i} down", "SEV2").id for i in range(16)]
    passes: dict[str, list] = {"a": [], "b": []}

    def work(name, s):
        for _ in range(50):
            p = asyncio.run(s.dispatcher.tick())
            passes[name].append(p)
            if all(r.state == "delivered" for r in s.dispatcher.items()) and len(
                s.dispatcher.items()
            ) == len(ids):
                return

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    rows = a.dispatcher.items()
    assert [r.state for r in rows] == ["delivered"] * len(ids)
    assert [r.attempts for r in rows] == [1] * len(ids)
    keys = Counter(json.loads(r.body)["dedup_key"].split("/")[1] for r in receiver.seen)
    assert keys == dict.fromkeys(ids, 1)
    sent = sum(p.delivered for ps in passes.values() for p in ps)
    assert sent == len(ids)
    for ref in ids:
        assert [e.kind for e in a.incidents.events(ref)].count("notified") == 1


def test_notify_queue_and_flush_on_the_cli(cli, tmp_path, receiver, monkeypatch):
    import yaml

    monkeypatch.setenv("PD_KEY", ROUTING)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "oncall.db"
    (tmp_path / "oncall.yaml").write_text(yaml.safe_dump(_config(receiver, db)))
    receiver.script.append(Answer(503, "busy"))
    receiver.default = ACCEPTED
    r = cli("notify", "flush", "--json")
    assert r.code == 0 and json.loads(r.out)["queued"] == 0
    r = cli("incident", "declare", "--title", "Fraud model down", "--severity", "SEV1")
    assert r.code == 0, r.err
    r = cli("notify", "flush", "--json")
    assert (r.code, json.loads(r.out)) == (
        0,
        {"recorded": [], "queued": 1, "delivered": 0, "retrying": 1, "failed": 0, "errors": []},
    )
    r = cli("notify", "queue", "--json")
    [item] = json.loads(r.out)
    assert set(item) == {
        "id",
        "incident",
        "kind",
        "destination",
        "type",
        "state",
        "attempts",
        "next_attempt_at",
        "http_status",
        "error",
        "idempotency_key",
        "created_at",
        "updated_at",
    }
    assert (item["kind"], item["destination"], item["state"], item["attempts"]) == (
        "declared",
        "pager",
        "queued",
        1,
    )
    assert item["http_status"] == 503 and item["next_attempt_at"] is not None
    r = cli("notify", "queue")
    assert "declared" in r.out and "queued  attempts 1  HTTP 503" in r.out
    assert "answered HTTP 503: busy" in r.out
    r = cli("notify", "queue", "--state", "delivered", "--json")
    assert json.loads(r.out) == []


def test_flush_exits_1_when_one_failed(cli, tmp_path, receiver, monkeypatch):
    import yaml

    monkeypatch.setenv("PD_KEY", ROUTING)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "oncall.yaml").write_text(yaml.safe_dump(_config(receiver, tmp_path / "o.db")))
    receiver.default = Answer(400, '{"status":"invalid event","message":"Event object is invalid"}')
    cli("notify", "flush")
    cli("incident", "declare", "--title", "Fraud model down", "--severity", "SEV1")
    r = cli("notify", "flush")
    assert r.code == 1
    assert "queued 1, delivered 0, retrying 0, failed 1" in r.out
    assert "answered HTTP 400" in r.err and ROUTING not in r.out + r.err
