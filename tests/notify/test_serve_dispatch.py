"""`mlops-oncall serve` dispatches the notification queue while it runs (a real daemon): an
incident declared by another process reaches the PagerDuty receiver, a notification that
failed for good is one log line, and SIGTERM stops the dispatcher with the daemon."""

from __future__ import annotations

import json
import time

import pytest

from mlops_oncall.config import Config, Workspace
from mlops_oncall.session import Session
from tests.intake.daemon import Daemon
from tests.notify.conftest import Answer

ROUTING = "r0ut1ngk3y0123456789abcdef012345"

pytestmark = pytest.mark.timeout(90)  # a workspace on a SQLite file, shared by two processes


def _until(what, condition, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_sends_the_queue_and_logs_a_failure(tmp_path, receiver, monkeypatch):
    import yaml

    config = {
        "name": "intake",
        "witness": False,
        "database": f"sqlite:///{tmp_path / 'oncall.db'}",
        "notify": {
            "pager": {
                "type": "pagerduty",
                "routing_key": "${env:PD_KEY}",
                "events_url": f"{receiver.url}/v2/enqueue",
            }
        },
        "notifications": [{"when": "declared", "to": ["pager"]}],
    }
    (tmp_path / "oncall.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("PD_KEY", ROUTING)
    receiver.script.append(Answer(400, '{"status":"invalid event","message":"bad"}'))
    receiver.default = Answer(202, '{"status":"success"}')
    d = Daemon(tmp_path, "--listen", "127.0.0.1:0", env={"PD_KEY": ROUTING})
    s = Session(Workspace(Config.model_validate({"me": "alice"} | config), root=tmp_path))
    try:
        d.url()
        _until("the first pass", lambda: s.dispatcher.items() == [] and _started(s))
        bad = s.incidents.declare("Fraud model down", "SEV1")
        d.wait_for(
            rf"^notify: {bad.id} declared → destination 'pager' \(pagerduty\) answered HTTP 400"
        )
        good = s.incidents.declare("Ranking model stale", "SEV2")
        _until("the second trigger", lambda: len(receiver.seen) == 2)
        assert json.loads(receiver.seen[1].body)["dedup_key"].endswith(f"/{good.id}")
        _until(
            "notified on the timeline",
            lambda: [e.kind for e in s.incidents.events(good.id)].count("notified") == 1,
        )
        assert [r.state for r in s.dispatcher.items()] == ["failed", "delivered"]
        d.terminate()
        assert d.wait() == 0
        assert d.lines[-1] == "mlops-oncall serve: stopped"
        assert not any(ROUTING in line for line in d.lines)
    finally:
        d.stop()
        s.close()


def _started(s) -> bool:
    """Whether the daemon's dispatcher made its first pass (it marks when notifications begin)."""
    from sqlalchemy import select

    from mlops_oncall.store.tables import Meta

    with s.store.read() as conn:
        return (
            conn.execute(select(Meta.c.value).where(Meta.c.key == "notify_since")).first()
            is not None
        )
