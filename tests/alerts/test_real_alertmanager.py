"""Against the real Alertmanager (Debian's prometheus-alertmanager 0.25, with amtool) and the
real daemon (`mlops-oncall serve` as a subprocess): Alertmanager groups two alerts fired with
`amtool alert add` and posts them to /alertmanager; resolving them records one "alerts
resolved" event; its repeated notifications add nothing; a firing after the incident was
resolved opens a new incident; a silence created with `mlops-oncall alert silence` is in
Alertmanager's GET /api/v2/silences and `amtool silence query`.

Outside CI the test skips when Alertmanager is not installed (saying what to install); on CI
(CI=true) that is a failure, as .ci/run installs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mlops_oncall.clock import SYSTEM
from tests.alerts.conftest import make_session
from tests.intake.daemon import Daemon
from tests.real_servers.harness import free_port

INSTALL = "install Debian's prometheus-alertmanager (apt-get install prometheus-alertmanager)"
DEADLINE_S = 60


def _binary(*names: str) -> str:
    found = next((p for n in names if (p := shutil.which(n))), None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{names[0]} is not installed on CI: {INSTALL}")
        pytest.skip(f"needs {names[0]}: {INSTALL}")
    return found


DIAGNOSE: list = []  # what a timeout shows: the daemon's stderr and Alertmanager's log


def poll(what: str, fn, timeout: float = DEADLINE_S):
    """fn()'s first truthy value, polled until the deadline (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.1)
    logs = "\n".join(str(d()) for d in DIAGNOSE)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


class Alertmanager:
    def __init__(self, tmp: Path, webhook: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "alertmanager.yml"
        config.write_text(
            "route:\n"
            "  receiver: oncall\n"
            "  group_by: [alertname]\n"
            "  group_wait: 1s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 2s\n"  # firing groups are notified again: the resends
            "receivers:\n"
            "  - name: oncall\n"
            "    webhook_configs:\n"
            f"      - url: {webhook}\n"
            "        send_resolved: true\n"
        )
        (tmp / "am-data").mkdir()
        self.log = (tmp / "alertmanager.log").open("w")
        self.proc = subprocess.Popen(
            [
                _binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={config}",
                f"--storage.path={tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no gossip: a single instance
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        poll("Alertmanager to be ready", self._ready, 30)

    def _ready(self) -> bool:
        assert self.proc.poll() is None, "Alertmanager exited; see alertmanager.log"
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def amtool(self, *args: str) -> str:
        out = subprocess.run(
            [_binary("amtool"), *args, f"--alertmanager.url={self.url}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)
        self.log.close()


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


LABELS = ["alertname=ModelLatencyHigh", "service=fraud-api", "severity=critical"]


@pytest.fixture
def stack(tmp_path, cli):
    _binary("prometheus-alertmanager", "alertmanager")
    _binary("amtool")
    am_port = free_port()  # Alertmanager's, written into oncall.yaml before it starts
    (tmp_path / "oncall.yaml").write_text(
        "name: t\n"
        "alerts:\n"
        "  routes:\n"
        "    - name: fraud\n"
        "      matchers: ['service=\"fraud-api\"']\n"
        "      declare: true\n"
        "  alertmanager:\n"
        f"    url: http://127.0.0.1:{am_port}\n"
    )
    daemon = Daemon(tmp_path, "--listen", f"127.0.0.1:{free_port()}")
    log = tmp_path / "alertmanager.log"
    DIAGNOSE[:] = [
        lambda: "daemon:\n" + "\n".join(daemon.lines[-30:]),
        lambda: (
            "alertmanager:\n" + "\n".join(log.read_text().splitlines()[-30:])
            if log.exists()
            else ""
        ),
    ]
    am = None
    try:
        base = daemon.url()
        poll("the daemon", lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200)
        am = Alertmanager(tmp_path, f"{base}/alertmanager")
        # the port it took is the one oncall.yaml names
        (tmp_path / "oncall.yaml").write_text(
            (tmp_path / "oncall.yaml").read_text().replace(str(am_port), str(am.port))
        )
        session = make_session(tmp_path, f"sqlite:///{tmp_path / 'oncall.db'}", clock=SYSTEM)
        yield am, session, base
        session.close()
    finally:
        if am is not None:
            am.stop()
        daemon.terminate()
        daemon.wait()


def _events(session, ref, kind):
    try:
        return [e for e in session.incidents.events(ref) if e.kind == kind]
    except Exception:  # not declared yet
        return []


def _stored(base: str) -> float:
    for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith('mlops_oncall_intake_stored_total{endpoint="/alertmanager"}'):
            return float(line.split()[-1])
    return 0.0


def test_alertmanager_to_incident_and_back(stack, cli):
    am, session, base = stack
    start = datetime.now(UTC) - timedelta(seconds=5)
    for pod in ("a", "b"):
        am.amtool("alert", "add", *LABELS, f"pod={pod}", f"--start={_rfc3339(start)}",
                  "--annotation=summary=p99 latency over 2s")  # fmt: skip
    fired = poll(
        "two alert_fired events", lambda: len(_events(session, "INC-0001", "alert_fired")) == 2
    )
    assert fired
    view = session.incidents.get("INC-0001")
    assert (view.row.severity, view.row.service, view.row.status) == ("SEV1", "fraud-api", "triage")
    fingerprints = sorted(
        e.data["fingerprint"] for e in _events(session, "INC-0001", "alert_fired")
    )
    assert len(set(fingerprints)) == 2 and all(len(f) == 16 for f in fingerprints)

    # Alertmanager notifies the firing group again (repeat_interval 2s): nothing is added
    seen = _stored(base)
    poll("two repeated notifications", lambda: _stored(base) >= seen + 2)
    assert len(_events(session, "INC-0001", "alert_fired")) == 2
    assert len(session.incidents.list()) == 1

    # both resolved in one post to Alertmanager's API: one notification, one event
    end = datetime.now(UTC) - timedelta(seconds=1)
    body = [
        {
            "labels": dict(x.split("=") for x in LABELS) | {"pod": pod},
            "annotations": {"summary": "p99 latency over 2s"},
            "startsAt": _rfc3339(start),
            "endsAt": _rfc3339(end),
        }
        for pod in ("a", "b")
    ]
    assert httpx.post(f"{am.url}/api/v2/alerts", json=body, timeout=5).status_code == 200
    (resolved,) = poll(
        "the alerts_resolved event", lambda: _events(session, "INC-0001", "alerts_resolved")
    )
    assert sorted(resolved.data["fingerprints"]) == fingerprints
    assert session.incidents.get("INC-0001").row.status == "triage"  # not closed

    # the incident resolved, a firing of the same group opens a new incident
    session.incidents.set_status("INC-0001", "investigating")
    session.incidents.set_status("INC-0001", "resolved")
    am.amtool("alert", "add", *LABELS, "pod=c", "--annotation=summary=back again")
    poll("INC-0002", lambda: _events(session, "INC-0002", "alert_fired"))
    assert session.incidents.get("INC-0001").row.status == "resolved"
    group = session.alerts.get("ALG-0002")
    assert (group.incident, group.row["epoch"]) == ("INC-0002", 2)

    # a silence from the CLI is in Alertmanager
    r = cli("alert", "silence", "ALG-0002", "--for", "2h", "--comment", "rolling back", "--json")
    assert r.code == 0, r.err
    silence_id = r.json()["id"]
    silences = httpx.get(f"{am.url}/api/v2/silences", timeout=5).json()
    (made,) = [s for s in silences if s["id"] == silence_id]
    assert made["comment"] == "rolling back"
    assert made["createdBy"] == "tester"
    assert {m["name"]: m["value"] for m in made["matchers"]} == {
        "alertname": "ModelLatencyHigh", "service": "fraud-api", "severity": "critical",
        "pod": "c",
    }  # fmt: skip
    assert all(m["isEqual"] and not m["isRegex"] for m in made["matchers"])
    queried = json.loads(am.amtool("silence", "query", "-o", "json"))
    assert silence_id in [s["id"] for s in queried]
    (event,) = _events(session, "INC-0002", "alert_silenced")
    assert event.data["id"] == silence_id and event.actor == "tester"
