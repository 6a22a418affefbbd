"""`mlops-oncall alert ...` on both backends: the list's JSON shape, declare, attach, dismiss,
and the exit codes of what cannot be done (1) or cannot mean anything (2)."""

from __future__ import annotations

import pytest

from tests.alerts.conftest import alert, make_session, payload, resolved


@pytest.fixture
def ws(tmp_path, backend_url, monkeypatch):
    """A workspace whose alerts wait in the inbox, on this backend; feed(body) delivers one
    notification as the webhook would."""
    (tmp_path / "oncall.yaml").write_text("name: t\nwitness: false\n")
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    sessions = []

    def feed(body):
        s = make_session(tmp_path / "feeder", backend_url)
        sessions.append(s)
        return s.alerts.receive(body)

    (tmp_path / "feeder").mkdir()
    yield feed
    for s in sessions:
        s.close()


def test_list_json_shape(cli, ws):
    a, b = alert("aaaa000000000001"), alert("aaaa000000000002", labels={"pod": "p2"})
    ws(payload(a, b))
    ws(payload(a, resolved(b)))
    r = cli("alert", "list", "--json")
    assert r.code == 0, r.err
    (group,) = r.json()["groups"]
    assert set(group) == {
        "id", "receiver", "group_key", "state", "incident", "incident_status", "route",
        "severity", "service", "runbook", "group_labels", "firing", "first_seen", "last_seen",
        "silences", "alerts",
    }  # fmt: skip
    assert (group["id"], group["state"], group["firing"], group["severity"]) == (
        "ALG-0001",
        "inbox",
        1,
        "SEV1",
    )
    assert group["alerts"][1] == {
        "fingerprint": "aaaa000000000002",
        "alertname": "ModelLatencyHigh",
        "status": "resolved",
        "labels": {"alertname": "ModelLatencyHigh", "pod": "p2", "service": "fraud-api",
                   "severity": "critical"},
        "annotations": {"summary": "p99 latency over 2s"},
        "starts_at": "2026-11-28T02:55:00Z",
        "ends_at": "2026-11-28T03:00:00Z",
        "generator_url": "http://prometheus:9090/graph?g0.expr=up",
    }  # fmt: skip
    text = cli("alert", "list")
    assert text.out.splitlines()[0].startswith("ALG-0001  inbox")
    assert "1/2 firing" in text.out


def test_declare_attach_dismiss(cli, ws):
    ws(payload(alert("bbbb000000000001")))
    ws(payload(alert("bbbb000000000002", "GPUMemory"), group_key='{}:{a="2"}'))
    ws(payload(alert("bbbb000000000003", "Drift"), group_key='{}:{a="3"}'))
    r = cli("alert", "declare", "ALG-0001", "--severity", "SEV2", "--title", "p99 up", "--json")
    assert r.code == 0, r.err
    assert (r.json()["state"], r.json()["incident"]) == ("declared", "INC-0001")
    shown = cli("incident", "show", "INC-0001", "--json").json()
    assert (shown["severity"], shown["title"]) == ("SEV2", "p99 up")
    r = cli("alert", "attach", "ALG-0002", "INC-0001")
    assert (r.code, r.out) == (0, "ALG-0002 attached to INC-0001\n")
    assert cli("alert", "dismiss", "ALG-0003").out == "ALG-0003 dismissed\n"
    assert [g["id"] for g in cli("alert", "list", "--json").json()["groups"]] == [
        "ALG-0002",
        "ALG-0001",
    ]
    assert len(cli("alert", "list", "--all", "--json").json()["groups"]) == 3
    assert cli("alert", "show", "ALG-0003", "--json").json()["state"] == "dismissed"


def test_refusals_and_bad_input(cli, ws):
    ws(payload(alert("cccc000000000001")))
    r = cli("alert", "show", "ALG-0042")
    assert (r.code, r.err) == (1, "error: unknown alert group 'ALG-0042'\n")
    assert cli("alert", "declare", "ALG-0001").code == 0
    r = cli("alert", "declare", "ALG-0001")
    assert (r.code, r.err) == (1, "error: ALG-0001 is already declared (INC-0001)\n")
    r = cli("alert", "silence", "ALG-0001", "--for", "soon", "--comment", "x")
    assert r.code == 2 and r.err.startswith("error: --for: expected a duration")
    r = cli("alert", "silence", "ALG-0001", "--for", "2h", "--comment", "deploying")
    assert r.code == 2
    assert "set alerts.alertmanager.url in oncall.yaml" in r.err
