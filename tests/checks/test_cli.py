"""`mlops-oncall check …` end to end against real servers: JSON shapes, exit codes, redaction."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from mlops_oncall.checks.config import load_checks
from tests.checks.helpers import write
from tests.checks.servers import Reply
from tests.conftest import console_script

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "tok-9f8e7d6c"


@pytest.fixture
def ml(serve):
    """A small ML system: a model server, a data-quality endpoint, a guarded API."""

    def guarded(handler):
        auth = handler.headers.get("Authorization", "")
        if auth == f"Bearer {TOKEN}":
            return Reply(200, {"ok": True})
        return Reply(401, f"token {auth} rejected")

    return serve(
        {
            "/v2/health/live": Reply(200, b""),
            "/v2/health/ready": Reply(200, b""),
            "/v2/models/fraud/ready": Reply(404, {"error": "Model fraud not found"}),
            "/dq": Reply(200, {"drift_score": 0.42, "null_rate": 0.001}),
            "/api": guarded,
            "/wrong": guarded,
        }
    )


def checks_file(tmp_path, srv, refused_url) -> Path:
    return write(
        tmp_path,
        f"""
        defaults: {{timeout: 0.5s}}
        checks:
          - {{id: fraud, preset: oip_v2, base_url: "{srv.url}", model: fraud, service: fraud-scoring}}
          - id: drift
            service: fraud-scoring
            url: {srv.url}/dq
            conditions: ["[BODY].null_rate < 0.01"]
            warn: ["[BODY].drift_score < 0.3"]
          - id: api
            url: {srv.url}/api
            headers: {{Authorization: "Bearer ${{env:API_TOKEN}}"}}
            conditions: ["[STATUS] == 200"]
          - id: echo
            url: {srv.url}/wrong
            headers: {{Authorization: "Bearer ${{env:API_TOKEN}}x"}}
            conditions: ["[STATUS] == 200"]
          - id: scorer
            url: {srv.url}/api
            headers: {{Authorization: "Bearer ${{env:API_TOKEN}}"}}
            depends_on: [fraud.model-ready]
          - id: batch
            url: {refused_url}/health
            maintenance: [{{start: "00:00", duration: 1d}}]
        """,
    )


def test_run_json_shape_and_exit_code(tmp_path, ml, refused_url, cli, monkeypatch):
    monkeypatch.setenv("API_TOKEN", TOKEN)
    path = checks_file(tmp_path, ml, refused_url)
    r = cli("check", "run", "--checks", path, "--json")
    assert r.code == 1, r.err
    items = r.json()
    assert [i["id"] for i in items] == [
        "fraud.live", "fraud.ready", "fraud.model-ready", "drift", "api", "echo", "scorer", "batch",
    ]  # fmt: skip
    for item in items:
        assert list(item) == [
            "id", "service", "state", "error_class", "message", "latency_ms", "blocked_by",
            "conditions",
        ]  # fmt: skip
        for c in item["conditions"]:
            assert list(c) == ["condition", "level", "success", "observed", "message"]
    by = {i["id"]: i for i in items}
    assert {k: (v["state"], v["error_class"]) for k, v in by.items()} == {
        "fraud.live": ("up", None),
        "fraud.ready": ("up", None),
        "fraud.model-ready": ("down", "http_status"),
        "drift": ("degraded", "condition"),
        "api": ("up", None),
        "echo": ("down", "http_status"),
        "scorer": ("up", None),
        "batch": ("maintenance", "connect"),
    }
    assert by["fraud.live"]["service"] == "fraud-scoring"
    assert isinstance(by["fraud.live"]["latency_ms"], float)
    assert by["batch"]["latency_ms"] is None
    assert by["drift"]["message"] == "[BODY].drift_score = 0.42, expected < 0.3"
    assert by["drift"]["conditions"] == [
        {
            "condition": "[BODY].null_rate < 0.01",
            "level": "fail",
            "success": True,
            "observed": 0.001,
            "message": "[BODY].null_rate = 0.001",
        },
        {
            "condition": "[BODY].drift_score < 0.3",
            "level": "warn",
            "success": False,
            "observed": 0.42,
            "message": "[BODY].drift_score = 0.42, expected < 0.3",
        },
    ]
    port = refused_url.rsplit(":", 1)[1]
    assert re.fullmatch(
        rf"in maintenance until \d{{4}}-\d\d-\d\dT00:00:00Z; probe: connection refused by "
        rf"127\.0\.0\.1:{port}",
        by["batch"]["message"],
    )
    assert by["batch"]["conditions"][0]["observed"] is None
    assert by["scorer"]["blocked_by"] == ["fraud.model-ready"]
    assert by["fraud.ready"]["blocked_by"] == []
    # the token never shows, not even where the server echoed it back
    assert TOKEN not in r.out and TOKEN not in r.err
    assert by["echo"]["message"] == (
        "[STATUS] = 401, expected == 200 (body: 'token Bearer ***x rejected')"
    )


def test_run_text_and_summary(tmp_path, ml, refused_url, cli, monkeypatch):
    monkeypatch.setenv("API_TOKEN", TOKEN)
    path = checks_file(tmp_path, ml, refused_url)
    r = cli("check", "run", "--checks", path)
    assert r.code == 1
    raw = r.out.splitlines()
    assert len({line.index(" ms  ") for line in raw if " ms  " in line}) == 1  # one column
    lines = [re.sub(r" +\d+ ms  ", " | ", line) for line in raw]
    assert lines[2] == (
        "down        fraud.model-ready | http_status: [STATUS] = 404, expected == 200 "
        '(body: \'{"error": "Model fraud not found"}\')'
    )
    assert lines[3] == ("degraded    drift | condition: [BODY].drift_score = 0.42, expected < 0.3")
    assert lines[6] == "up          scorer | ok [blocked by fraud.model-ready]"
    assert r.err == "8 checks: 4 up, 1 degraded, 2 down, 1 maintenance\n"
    assert TOKEN not in r.out + r.err


def test_run_only_and_once_and_exit_zero(tmp_path, ml, refused_url, cli, monkeypatch):
    monkeypatch.setenv("API_TOKEN", TOKEN)
    path = checks_file(tmp_path, ml, refused_url)
    r = cli("check", "run", "--checks", path, "--only", "fraud.live", "--only", "api", "--once")
    assert r.code == 0, r.out + r.err
    assert [line.split()[1] for line in r.out.splitlines()] == ["fraud.live", "api"]
    r = cli("check", "run", "--checks", path, "--only", "fraud", "--json")
    assert [i["id"] for i in r.json()] == ["fraud.live", "fraud.ready", "fraud.model-ready"]
    r = cli("check", "run", "--checks", path, "--only", "fraud.reddy")
    assert (r.code, r.err) == (
        2,
        "error: unknown check 'fraud.reddy' (did you mean 'fraud.ready'?)\n",
    )
    r = cli("check", "run", "--checks", path, "--only", "batch")
    assert r.code == 0  # maintenance counts as fine


def test_config_errors_exit_2_with_every_located_problem(tmp_path, cli):
    path = write(
        tmp_path,
        """
        checks:
          - {id: a, url: "http://127.0.0.1:1/", headers: {X-Token: "${env:MISSING_TOKEN}"}}
          - {id: b, url: "http://127.0.0.1:1/", conditions: ["[BODY].x =! 1"], depends_on: [c]}
        """,
    )
    r = cli("check", "run", "--checks", path)
    assert r.code == 2
    assert r.out == ""
    assert r.err.splitlines() == [
        f"{path}:2:60: checks[0].headers.X-Token: environment variable MISSING_TOKEN is not set",
        f"{path}:3:68: checks[1].conditions[0]: invalid condition: no comparison operator; "
        "expected one of == != < <= > >= between two operands (at character 14)",
        f"{path}:3:85: checks[1].depends_on[0]: unknown check 'c'",
        f"error: {path}: 3 errors; nothing was run",
    ]
    assert "Traceback" not in r.err


def test_no_checks_file_is_a_usage_error(tmp_path, cli):
    r = cli("check", "run")
    assert (r.code, r.err) == (
        2,
        "error: no checks file: pass --checks FILE, or run in a workspace whose oncall.yaml "
        "names one (checks: checks.yaml)\n",
    )
    r = cli("check", "run", "--checks", tmp_path / "nope.yaml")
    assert (r.code, r.err) == (2, f"error: checks file not found: {tmp_path / 'nope.yaml'}\n")


def test_workspace_checks_file_is_the_default(tmp_path, cli, serve):
    srv = serve({"/ok": Reply(200, "ok")})
    (tmp_path / "oncall.yaml").write_text("name: ml-platform\nchecks: health/checks.yaml\n")
    (tmp_path / "health").mkdir()
    write(tmp_path / "health", f'checks: [{{id: ok, url: "{srv.url}/ok"}}]\n')
    r = cli("check", "run", "--json")
    assert r.code == 0, r.err
    assert [i["id"] for i in r.json()] == ["ok"]


def test_validate_lists_expanded_ids(tmp_path, cli):
    path = write(
        tmp_path,
        """
        checks:
          - {id: fraud, preset: oip_v2, base_url: "http://ops:s3cr3t-pw@models:8000", model: fraud}
          - {id: fs, preset: health_json, base_url: "http://feature-store:6566"}
          - {id: redis, kind: tcp, url: "tcp://redis:6379"}
        """,
    )
    r = cli("check", "validate", "--checks", path)
    assert r.code == 0, r.out + r.err
    assert r.out.splitlines() == [
        "fraud.live         GET  http://***@models:8000/v2/health/live  (preset oip_v2)",
        "fraud.ready        GET  http://***@models:8000/v2/health/ready  (preset oip_v2)",
        "fraud.model-ready  GET  http://***@models:8000/v2/models/fraud/ready  (preset oip_v2)",
        "fs.health          GET  http://feature-store:6566/health  (preset health_json)",
        "redis              tcp  tcp://redis:6379",
    ]
    assert r.err == f"{path}: 5 checks, 0 errors, 0 warnings\n"
    r = cli("check", "validate", "--checks", path, "--json")
    data = r.json()
    assert data["valid"] is True and data["problems"] == []
    assert [c["id"] for c in data["checks"]] == [
        "fraud.live", "fraud.ready", "fraud.model-ready", "fs.health", "redis",
    ]  # fmt: skip
    assert data["checks"][2] == {
        "id": "fraud.model-ready",
        "name": "fraud model fraud ready",
        "group": None,
        "service": None,
        "kind": "http",
        "url": "http://***@models:8000/v2/models/fraud/ready",
        "preset": "oip_v2",
        "interval": 30.0,
        "depends_on": ["fraud.ready"],
        "runbook": None,
    }
    assert "s3cr3t-pw" not in r.out


def test_validate_errors_exit_1_on_stdout(tmp_path, cli):
    path = write(tmp_path, 'checks:\n  - {id: a, url: "http://x/", intervall: 5s}\n')
    r = cli("check", "validate", "--checks", path)
    assert r.code == 1
    assert (
        r.out
        == f"{path}:2:31: checks[0].intervall: unknown field 'intervall' (did you mean 'interval'?)\n"
    )
    assert r.err == f"{path}: 0 checks, 1 error, 0 warnings\n"
    r = cli("check", "validate", "--checks", path, "--json")
    assert r.code == 1
    assert r.json()["valid"] is False
    assert r.json()["problems"][0]["path"] == "checks[0].intervall"


def test_import_gatus_realistic_config(tmp_path, cli):
    r = cli("check", "import-gatus", FIXTURES / "gatus.yaml")
    assert r.code == 0, r.err
    src = str(FIXTURES / "gatus.yaml")
    assert r.err.splitlines() == [
        f"{src}:2:1: warning: storage: storage is not carried over (mlops-oncall keeps its own store)",
        f"{src}:5:1: warning: web: web is not carried over",
        f"{src}:7:1: warning: ui: ui is not carried over",
        f"{src}:9:1: warning: alerting: alerting providers are not carried over; mlops-oncall "
        "raises alarms from check thresholds (pagerduty, slack)",
        f"{src}:17:1: warning: maintenance: the global maintenance window is applied to every check",
        f"{src}:36:5: warning: endpoints[0].alerts: 'Fraud model ready': alerts are not carried "
        "over (pagerduty, slack); alarms follow the check's thresholds",
        f"{src}:67:10: warning: endpoints[4].url: 'GPU node ping': icmp (ping) checks are not "
        "supported; skipped",
        f"{src}:76:7: warning: endpoints[5].client.ignore-redirect: 'Registry API': "
        "client.ignore-redirect is not supported: redirects are followed (at most 5)",
        f"{src}:77:7: warning: endpoints[5].client.dns-resolver: 'Registry API': "
        "client.dns-resolver is not carried over",
        f"{src}:80:9: warning: endpoints[5].conditions[1]: 'Registry API': condition "
        "'[IP] == pat(10.*)' is not carried over: [IP] is not supported: mlops-oncall probes "
        "http and tcp only",
        f"{src}:87:5: warning: endpoints[5].ui: 'Registry API': ui is not carried over",
        f"{src}:98:14: warning: endpoints[7].enabled: 'Legacy batch': disabled in Gatus; skipped",
        f"{src}:101:1: warning: external-endpoints: external endpoints (pushed results) are not "
        "supported; skipped",
        "imported 6 checks with 13 warnings",
    ]
    out = tmp_path / "checks.yaml"
    out.write_text(r.out)
    checkset, problems = load_checks(out, env={"MODEL_TOKEN": "x"})
    assert problems == [] and checkset is not None
    assert checkset.ids() == [
        "fraud-model-ready", "drift-monitor", "feature-store-redis", "model-registry-dns",
        "registry-api", "pipeline-graphql",
    ]  # fmt: skip
    dns = checkset.specs["model-registry-dns"]  # Gatus's url is the name server
    assert (dns.kind, dns.request.url, dns.request.method) == (
        "dns",
        "dns://8.8.8.8/registry.ml.internal?type=A",
        "A",
    )
    assert [c.condition.text for c in dns.conditions] == [
        "[BODY] == 10.0.0.12",
        "[DNS_RCODE] == NOERROR",
    ]
    fraud = checkset.specs["fraud-model-ready"]
    assert fraud.headers == {"Authorization": "Bearer ${env:MODEL_TOKEN}"}
    assert (fraud.total_timeout, fraud.insecure, fraud.interval.total_seconds()) == (3.0, True, 30)
    assert fraud.thresholds.model_dump() == {
        "degraded_after": 2,
        "down_after": 5,
        "recover_after": 3,
    }
    assert [m.every for m in fraud.maintenance] == [["monday", "thursday"]]
    registry = checkset.specs["registry-api"]
    assert registry.interval.total_seconds() == 5400  # 1h30m
    assert [c.condition.text for c in registry.conditions] == [
        "[STATUS] == any(200, 204)",
        "[BODY].status == UP",
    ]
    assert [(m.start, m.tz) for m in registry.maintenance] == [
        ("02:00", "UTC"),
        ("23:00", "Europe/Amsterdam"),
    ]
    redis = checkset.specs["feature-store-redis"]
    assert (redis.kind, redis.url) == ("tcp", "tcp://redis.ml.internal:6379")
    graphql = checkset.specs["pipeline-graphql"]
    assert graphql.request.body == (
        b'{"query": "{ lastRun(pipeline: \\"features\\") { status finishedAt } }"}'
    )
    drift = checkset.specs["drift-monitor"]
    assert drift.interval.total_seconds() == 300 and drift.total_timeout == 10.0


def test_import_gatus_without_endpoints(tmp_path, cli):
    path = write(tmp_path, "web:\n  port: 8080\n", "gatus.yaml")
    r = cli("check", "import-gatus", path)
    assert r.code == 2
    assert r.out == ""
    assert r.err.splitlines() == [
        f"{path}:1:1: warning: web: web is not carried over",
        f"{path}:1:1: endpoints: no endpoints to import",
        f"error: {path}: nothing was imported",
    ]


@pytest.fixture
def restore_gc():
    """`check watch` tunes the collector for a polling process; undo it for the test run."""
    import gc

    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_watch_prints_transitions_then_stops(tmp_path, cli, serve, monkeypatch, restore_gc):
    monkeypatch.setenv("API_TOKEN", TOKEN)
    srv = serve({"/ok": Reply(200, "ok"), "/bad": Reply(500, f"no {TOKEN}")})
    path = write(
        tmp_path,
        f"""
        defaults: {{interval: 20ms, timeout: 0.5s, thresholds: {{degraded_after: 1, down_after: 2}}}}
        checks:
          - {{id: ok, url: "{srv.url}/ok"}}
          - {{id: bad, url: "{srv.url}/bad", headers: {{X-Key: "${{env:API_TOKEN}}"}}}}
        """,
    )
    r = cli("check", "watch", "--checks", path, "--for", "0.5s", "--json")
    assert r.code == 0, r.err
    import json

    events = [json.loads(line) for line in r.out.splitlines()]
    moves = {(e["check_id"], e["from"], e["to"]) for e in events}
    assert ("ok", "unknown", "up") in moves
    assert ("bad", "unknown", "degraded") in moves and ("bad", "degraded", "down") in moves
    down = next(e for e in events if e["to"] == "down")
    assert down["message"] == "[STATUS] = 500, expected < 400 (body: 'no ***')"
    assert down["error_class"] == "http_status" and down["alarm"] is True
    assert r.err.startswith("watching 2 checks (Ctrl-C to stop)\n")
    assert re.search(r"stopped after \d+ polls\n$", r.err)
    assert TOKEN not in r.out + r.err


def test_watch_stops_cleanly_on_ctrl_c(tmp_path, serve):
    srv = serve({"/ok": Reply(200, "ok")})
    path = write(
        tmp_path, f'defaults: {{interval: 50ms}}\nchecks: [{{id: ok, url: "{srv.url}/ok"}}]\n'
    )
    proc = subprocess.Popen(
        [console_script(), "check", "watch", "--checks", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        first = {}

        def read_first_line():
            first["line"] = proc.stdout.readline()

        reader = threading.Thread(target=read_first_line)
        reader.start()
        reader.join(timeout=30)  # waits for the first transition, not for a fixed time
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT[\d:.]+Z  ok  unknown → up  ok\n", first.get("line", "")
        ), first
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert re.search(r"stopped after \d+ polls\n$", err)
