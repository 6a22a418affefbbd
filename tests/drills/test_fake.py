"""The fake ML system over real HTTP: every service's shape, every fault and its clearing,
the control endpoint's validation, and the lifecycle (ports really open and really freed)."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.drills.fake import (
    FAULTS,
    SERVICES,
    ControlError,
    FakeControl,
    FakeSystem,
    FaultError,
)
from mlops_oncall.drills.fake.services.oip import score

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ROW = [2.1, -0.3, 1.0, 0.0, 0.5, 1.2, 0.4, -0.8]  # standardised features


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self):
        return json.loads(self.body)


def request(url: str, method: str = "GET", body=None) -> Reply:
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with _OPENER.open(req, timeout=5) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, exc.headers, exc.read())


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def fake(clock):
    with FakeSystem(clock=clock, seed=7) as system:
        yield system


def get(fake: FakeSystem, service: str, path: str, method: str = "GET", body=None) -> Reply:
    return request(fake.url(service) + path, method, body)


def control(fake: FakeSystem, method: str, path: str, body=None) -> Reply:
    return request(fake.control_url + path, method, body)


def infer_body(rows, **extra):
    tensor = {"name": "transaction", "datatype": "FP32", "shape": [len(rows), 8], "data": rows}
    return {"inputs": [tensor], **extra}


# -- state and addresses -------------------------------------------------------------------------


def test_state_lists_every_service_on_its_own_listening_port(fake):
    state = fake.state()
    assert list(state["services"]) == list(SERVICES)
    ports = [entry["port"] for entry in state["services"].values()]
    assert len({*ports, state["control_port"]}) == len(SERVICES) + 1
    for name, entry in state["services"].items():
        assert entry == {
            "port": fake.ports[name],
            "url": f"http://127.0.0.1:{fake.ports[name]}",
            "listening": True,
            "faults": {},
        }
    assert state["control_port"] == fake.control_port > 0
    assert control(fake, "GET", "/_control/state").json() == state


def test_url_of_an_unknown_service_names_the_known_ones(fake):
    with pytest.raises(FaultError, match=r"unknown service 'nope'; known services: fraud-scoring"):
        fake.url("nope")


# -- fraud-scoring: Open Inference Protocol v2 ---------------------------------------------------


@pytest.mark.parametrize("path", ["/v2/health/live", "/v2/health/ready", "/v2/models/fraud/ready"])
def test_oip_health_is_200_with_an_empty_body(fake, path):
    reply = get(fake, "fraud-scoring", path)
    assert (reply.status, reply.body) == (200, b"")
    assert reply.headers["Content-Length"] == "0"
    assert reply.headers["Content-Type"] is None


def test_oip_model_metadata(fake):
    reply = get(fake, "fraud-scoring", "/v2/models/fraud")
    assert reply.headers["Content-Type"] == "application/json"
    meta = reply.json()
    assert (meta["name"], meta["versions"], meta["platform"]) == ("fraud", ["3"], "xgboost")
    assert meta["inputs"] == [{"name": "transaction", "datatype": "FP32", "shape": [-1, 8]}]
    assert meta["outputs"] == [{"name": "fraud_probability", "datatype": "FP32", "shape": [-1, 1]}]


def test_oip_infer_scores_each_row_and_echoes_the_id(fake):
    other = [0.0] * 8
    reply = get(
        fake, "fraud-scoring", "/v2/models/fraud/infer", "POST", infer_body([ROW, other], id="r-1")
    )
    assert reply.status == 200
    assert reply.json() == {
        "model_name": "fraud",
        "model_version": "3",
        "id": "r-1",
        "outputs": [
            {
                "name": "fraud_probability",
                "datatype": "FP32",
                "shape": [2, 1],
                "data": [score(ROW), score(other)],
            }
        ],
    }
    assert 0 < score(other) < score(ROW) < 1


def test_oip_infer_accepts_flat_data_as_the_protocol_specifies(fake):
    body = infer_body([])
    body["inputs"][0].update(shape=[1, 8], data=ROW)
    reply = get(fake, "fraud-scoring", "/v2/models/fraud/infer", "POST", body)
    assert reply.json()["outputs"][0]["data"] == [score(ROW)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"{",
            "request body is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ({"input": []}, "request body must be a JSON object with an 'inputs' list"),
        ({"inputs": []}, "model fraud takes exactly one input, 'transaction'"),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 8], "data": ROW}]},
            "unexpected input 'x'; model fraud takes 'transaction'",
        ),
        (
            {
                "inputs": [
                    {"name": "transaction", "datatype": "INT64", "shape": [1, 8], "data": ROW}
                ]
            },
            "input 'transaction' must have datatype FP32, got 'INT64'",
        ),
        (
            {"inputs": [{"name": "transaction", "datatype": "FP32", "shape": [1, 3], "data": ROW}]},
            "input 'transaction' must have shape [N, 8], got [1, 3]",
        ),
        (
            {"inputs": [{"name": "transaction", "datatype": "FP32", "shape": [2, 8], "data": ROW}]},
            "input 'transaction' has 8 values, shape [2, 8] needs 16",
        ),
    ],
)
def test_oip_infer_rejects_a_bad_request_with_a_json_error(fake, body, message):
    reply = get(fake, "fraud-scoring", "/v2/models/fraud/infer", "POST", body)
    assert reply.status == 400
    assert reply.json() == {"error": message}


def test_oip_unknown_model_is_404_with_a_json_error(fake):
    reply = get(fake, "fraud-scoring", "/v2/models/churn/ready")
    assert reply.status == 404
    assert reply.json() == {"error": "Model churn not found"}


def test_oip_metrics_count_inference_requests_in_prometheus_text(fake):
    for _ in range(2):
        get(fake, "fraud-scoring", "/v2/models/fraud/infer", "POST", infer_body([ROW]))
    get(fake, "fraud-scoring", "/v2/models/fraud/infer", "POST", {"bad": 1})
    reply = get(fake, "fraud-scoring", "/metrics")
    assert reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = reply.body.decode().splitlines()
    assert 'model_infer_requests_total{model="fraud",code="200"} 2' in lines
    assert 'model_infer_requests_total{model="fraud",code="400"} 1' in lines
    assert 'model_infer_request_duration_seconds_bucket{model="fraud",le="+Inf"} 3' in lines
    assert 'model_infer_request_duration_seconds_count{model="fraud"} 3' in lines
    assert "# TYPE model_infer_request_duration_seconds histogram" in lines
    assert 'model_ready{model="fraud"} 1' in lines


# -- the other services --------------------------------------------------------------------------


def test_torchserve_ping_and_model_workers(fake):
    ping = get(fake, "recommendations", "/ping")
    assert (ping.status, ping.json()) == (200, {"status": "Healthy"})
    assert ping.headers["Content-Type"] == "application/json"
    models = get(fake, "recommendations", "/models/recs").json()
    assert [m["modelName"] for m in models] == ["recs"]
    assert [w["status"] for w in models[0]["workers"]] == ["READY", "READY"]
    assert get(fake, "recommendations", "/models").json() == {
        "models": [{"modelName": "recs", "modelUrl": "recs.mar"}]
    }


def test_torchserve_unknown_model_is_its_not_found_exception(fake):
    reply = get(fake, "recommendations", "/models/churn")
    assert reply.status == 404
    assert reply.json() == {
        "code": 404,
        "type": "ModelNotFoundException",
        "message": "Model not found: churn",
    }


def test_feature_store_answers_health_json(fake):
    reply = get(fake, "feature-store", "/health")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/health+json"
    body = reply.json()
    assert body["status"] == "pass"
    assert set(body["checks"]) == {"online-store:latency", "offline-store:freshness"}
    [latency] = body["checks"]["online-store:latency"]
    assert (latency["observedUnit"], latency["status"]) == ("ms", "pass")
    assert isinstance(latency["observedValue"], int)
    [fresh] = body["checks"]["offline-store:freshness"]
    assert (fresh["observedValue"], fresh["observedUnit"], fresh["status"]) == (120, "s", "pass")


def test_training_pipeline_reports_last_nightly_success(fake):
    reply = get(fake, "training-pipeline", "/status")
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {
        "pipeline": "nightly_training",
        "last_success": "2026-11-20T02:47:13Z",
        "last_run_state": "success",
    }


def test_data_quality_reports_drift_and_nulls_per_feature(fake):
    body = get(fake, "data-quality", "/metrics.json").json()
    features = body["features"]
    assert set(features) == {
        "amount",
        "merchant_category",
        "hour_of_day",
        "country",
        "device_age_days",
    }
    assert body["drift_score"] == max(f["psi"] for f in features.values())
    assert body["drift_score"] == pytest.approx(0.07, abs=0.02)
    assert body["null_rate"] == 0.002
    assert body["computed_at"] == "2026-11-20T12:00:00Z"


def test_gpu_reports_memory(fake):
    body = get(fake, "gpu-inference", "/gpu").json()
    [gpu] = body["gpus"]
    assert (gpu["index"], gpu["memory_total_mib"]) == (0, 40960)
    assert body["memory_used_percent"] == round(gpu["memory_used_mib"] / 40960 * 100, 1)
    assert 50 < body["memory_used_percent"] < 70
    assert 0 <= gpu["utilization"] <= 100


def test_batch_scoring_reports_the_latest_job(fake):
    body = get(fake, "batch-scoring", "/jobs/latest").json()
    assert body.keys() == {"job", "state", "finished_at", "rows"}
    assert (body["job"], body["state"]) == ("nightly-batch-scoring", "succeeded")
    assert body["finished_at"] == "2026-11-20T04:12:00Z"
    assert 1_150_000 <= body["rows"] <= 1_300_000


def test_mlflow_tracking_server_health_and_version_like_the_real_one(fake):
    # MLflow 3.17.2's tracking server: /health "OK", /version, and no /ping (Flask's HTML 404)
    reply = get(fake, "model-registry", "/health")
    assert (reply.status, reply.body, reply.headers["Content-Type"]) == (
        200,
        b"OK",
        "text/plain; charset=utf-8",
    )
    reply = get(fake, "model-registry", "/version")
    assert (reply.status, reply.body) == (200, b"3.17.2")
    reply = get(fake, "model-registry", "/ping")
    assert (reply.status, reply.headers["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert b"<title>404 Not Found</title>" in reply.body


def test_mlflow_registered_model_has_its_latest_version(fake):
    body = get(fake, "model-registry", "/api/2.0/mlflow/registered-models/get?name=fraud").json()
    model = body["registered_model"]
    assert model["name"] == "fraud"
    [version] = model["latest_versions"]
    assert (version["version"], version["current_stage"], version["status"]) == (
        "3",
        "Production",
        "READY",
    )
    promoted = datetime(2026, 11, 14, 14, 2, tzinfo=UTC)  # 5 days before the last 14:02
    assert version["creation_timestamp"] == int(promoted.timestamp() * 1000)


def test_mlflow_errors_carry_its_error_codes(fake):
    base = "/api/2.0/mlflow/registered-models/get"
    missing = get(fake, "model-registry", base)
    assert missing.status == 400
    assert missing.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown = get(fake, "model-registry", base + "?name=churn")
    assert unknown.status == 404
    assert unknown.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Registered Model with name=churn not found",
    }


# -- HTTP/1.1 behaviour ----------------------------------------------------------------------------


def test_keep_alive_answers_several_requests_on_one_connection(fake):
    conn = http.client.HTTPConnection("127.0.0.1", fake.ports["recommendations"], timeout=5)
    try:
        conn.request("GET", "/ping")
        first = conn.getresponse()
        assert first.read() == b'{\n  "status": "Healthy"\n}'
        assert first.getheader("Connection") is None
        sock = conn.sock
        conn.request("GET", "/models/recs")
        second = conn.getresponse()
        assert second.status == 200
        assert int(second.getheader("Content-Length")) == len(second.read())
        assert conn.sock is sock  # same socket: the connection was kept open
    finally:
        conn.close()


def test_connection_close_is_honoured(fake):
    with socket.create_connection(("127.0.0.1", fake.ports["gpu-inference"]), timeout=5) as sock:
        sock.sendall(b"GET /gpu HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):  # EOF proves the server closed its side
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close" in head
    assert json.loads(body)["gpus"][0]["memory_total_mib"] == 40960


def test_head_is_405_without_a_body_like_mlserver(fake):
    conn = http.client.HTTPConnection("127.0.0.1", fake.ports["fraud-scoring"], timeout=5)
    try:
        conn.request("HEAD", "/v2/health/ready")
        resp = conn.getresponse()
        assert (resp.status, resp.getheader("Allow"), resp.read()) == (405, "GET", b"")
    finally:
        conn.close()


def test_unknown_path_is_404_and_wrong_method_405(fake):
    assert get(fake, "training-pipeline", "/nope").status == 404
    wrong = get(fake, "training-pipeline", "/status", "POST", {})
    assert (wrong.status, wrong.headers["Allow"]) == (405, "GET")


def test_malformed_request_line_is_400(fake):
    with socket.create_connection(("127.0.0.1", fake.ports["batch-scoring"]), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert data.endswith(b'{"error":"malformed request line"}')


# -- faults ----------------------------------------------------------------------------------------


def test_latency_delays_every_answer_by_at_least_the_injected_ms(fake):
    record = fake.inject("fraud-scoring", "latency", ms=150)
    assert record == {
        "service": "fraud-scoring",
        "fault": "latency",
        "params": {"ms": 150},
        "since": "2026-11-20T12:00:00Z",
    }
    started = time.perf_counter()
    assert get(fake, "fraud-scoring", "/v2/health/ready").status == 200
    assert time.perf_counter() - started >= 0.150
    get(fake, "fraud-scoring", "/v2/models/fraud/infer", "POST", infer_body([ROW]))
    metrics = get(fake, "fraud-scoring", "/metrics").body.decode()
    [total] = [
        ln
        for ln in metrics.splitlines()
        if ln.startswith("model_infer_request_duration_seconds_sum")
    ]
    assert float(total.split()[-1]) >= 0.150  # the histogram sees the delay, as monitoring would
    assert fake.clear("fraud-scoring") == [{"service": "fraud-scoring", "fault": "latency"}]
    assert fake.state()["services"]["fraud-scoring"]["faults"] == {}


def test_latency_injected_over_http_delays_answers(fake):
    reply = control(
        fake,
        "POST",
        "/_control/faults",
        {"service": "gpu-inference", "fault": "latency", "params": {"ms": 120}},
    )
    assert reply.status == 200
    started = time.perf_counter()
    get(fake, "gpu-inference", "/gpu")
    assert time.perf_counter() - started >= 0.120


@pytest.mark.parametrize(
    ("service", "path", "body"),
    [
        ("fraud-scoring", "/v2/health/ready", {"error": "Internal Server Error"}),
        (
            "recommendations",
            "/ping",
            {"code": 500, "type": "InternalServerException", "message": "Internal Server Error"},
        ),
        (
            "model-registry",
            "/health",
            {"error_code": "INTERNAL_ERROR", "message": "Internal Server Error"},
        ),
        ("data-quality", "/metrics.json", {"error": "Internal Server Error"}),
    ],
)
def test_errors_at_rate_one_fail_every_request_in_the_protocols_shape(fake, service, path, body):
    fake.inject(service, "errors", rate=1)
    for _ in range(3):
        reply = get(fake, service, path)
        assert (reply.status, reply.json()) == (500, body)
    fake.clear(service, "errors")
    assert get(fake, service, path).status == 200


def test_errors_follow_the_seeded_rate(clock):
    def statuses(seed: int) -> list[int]:
        with FakeSystem(clock=clock, seed=seed) as system:
            system.inject("batch-scoring", "errors", rate=0.5)
            return [get(system, "batch-scoring", "/jobs/latest").status for _ in range(30)]

    first = statuses(7)
    assert set(first) == {200, 500}
    assert first == statuses(7)
    assert first != statuses(8)


def test_not_ready_model_server_answers_400_with_empty_body(fake):
    fake.inject("fraud-scoring", "not_ready")
    for path in ("/v2/health/ready", "/v2/models/fraud/ready"):
        reply = get(fake, "fraud-scoring", path)
        assert (reply.status, reply.body) == (400, b"")
    assert get(fake, "fraud-scoring", "/v2/health/live").status == 200
    infer = get(fake, "fraud-scoring", "/v2/models/fraud/infer", "POST", infer_body([ROW]))
    assert (infer.status, infer.json()) == (400, {"error": "Model fraud is not ready yet"})
    assert 'model_ready{model="fraud"} 0' in get(fake, "fraud-scoring", "/metrics").body.decode()
    fake.clear("fraud-scoring")
    assert get(fake, "fraud-scoring", "/v2/models/fraud/ready").status == 200


def test_not_ready_torchserve_is_unhealthy_with_unloading_workers(fake):
    fake.inject("recommendations", "not_ready")
    ping = get(fake, "recommendations", "/ping")
    assert (ping.status, ping.json()) == (500, {"status": "Unhealthy"})
    workers = get(fake, "recommendations", "/models/recs").json()[0]["workers"]
    assert {w["status"] for w in workers} == {"UNLOADING"}
    fake.clear("recommendations")
    assert get(fake, "recommendations", "/ping").json() == {"status": "Healthy"}


def test_not_ready_feature_store_fails_its_health_with_503(fake):
    fake.inject("feature-store", "not_ready")
    reply = get(fake, "feature-store", "/health")
    assert reply.status == 503
    body = reply.json()
    assert body["status"] == "fail"
    [online] = body["checks"]["online-store:latency"]
    assert (online["status"], online["output"]) == (
        "fail",
        "online store unreachable: connection refused",
    )
    fake.clear()
    assert get(fake, "feature-store", "/health").json()["status"] == "pass"


def test_not_ready_mlflow_refuses_connections_like_the_real_one(fake):
    port = fake.ports["model-registry"]
    fake.inject("model-registry", "not_ready")
    assert refused(port)
    assert fake.state()["services"]["model-registry"]["listening"] is False
    fake.clear("model-registry")
    assert get(fake, "model-registry", "/health").status == 200
    assert fake.ports["model-registry"] == port


def test_stale_pipeline_ages_from_the_injected_age(fake, clock):
    fake.inject("training-pipeline", "stale", age="30h")
    assert fake.state()["services"]["training-pipeline"]["faults"] == {
        "stale": {"params": {"age": 108000}, "since": "2026-11-20T12:00:00Z"}
    }
    assert (
        get(fake, "training-pipeline", "/status").json()["last_success"] == "2026-11-19T06:00:00Z"
    )
    clock.advance(timedelta(hours=20))  # past the next nightly slot: it still does not move
    assert (
        get(fake, "training-pipeline", "/status").json()["last_success"] == "2026-11-19T06:00:00Z"
    )
    fake.clear("training-pipeline")
    assert (
        get(fake, "training-pipeline", "/status").json()["last_success"] == "2026-11-21T02:47:13Z"
    )


def test_stale_feature_store_warns_then_fails_as_time_passes(fake, clock):
    fake.inject("feature-store", "stale", age="2h")
    warn = get(fake, "feature-store", "/health")
    [fresh] = warn.json()["checks"]["offline-store:freshness"]
    assert (warn.status, warn.json()["status"], fresh["observedValue"]) == (200, "warn", 7200)
    clock.advance(timedelta(hours=5))
    fail = get(fake, "feature-store", "/health")
    [fresh] = fail.json()["checks"]["offline-store:freshness"]
    assert (fail.status, fail.json()["status"], fresh["observedValue"]) == (503, "fail", 25200)


def test_stale_batch_job_and_registered_model(fake):
    fake.inject("batch-scoring", "stale", age=3600)
    assert (
        get(fake, "batch-scoring", "/jobs/latest").json()["finished_at"] == "2026-11-20T11:00:00Z"
    )
    fake.inject("model-registry", "stale", age="10d")
    body = get(fake, "model-registry", "/api/2.0/mlflow/registered-models/get?name=fraud").json()
    expected = int((START - timedelta(days=10)).timestamp() * 1000)
    assert body["registered_model"]["latest_versions"][0]["creation_timestamp"] == expected


def test_drift_score_wanders_without_a_fault(fake, clock):
    seen = []
    for _ in range(30):
        seen.append(get(fake, "data-quality", "/metrics.json").json()["drift_score"])
        clock.advance(60)
    assert len(set(seen)) > 10  # it moves from minute to minute
    assert all(0.04 < s < 0.1 for s in seen)  # but stays in the PSI "stable" band
    clock.set(START)
    assert get(fake, "data-quality", "/metrics.json").json()["drift_score"] == seen[0]


def test_drift_fault_climbs_toward_its_target_over_time(fake, clock):
    def drift() -> float:
        return get(fake, "data-quality", "/metrics.json").json()["drift_score"]

    before = drift()
    fake.inject("data-quality", "drift", score=0.4, over="10m")
    assert drift() == pytest.approx(before, abs=0.01)
    clock.advance(timedelta(minutes=5))
    halfway = drift()
    assert 0.18 < halfway < 0.3
    clock.advance(timedelta(minutes=5))
    assert drift() == pytest.approx(0.4, abs=0.02)
    clock.advance(timedelta(minutes=30))
    assert drift() == pytest.approx(0.4, abs=0.02)
    features = get(fake, "data-quality", "/metrics.json").json()["features"]
    assert features["merchant_category"]["psi"] == pytest.approx(0.2, abs=0.02)
    fake.clear("data-quality")
    assert drift() < 0.1


def test_nulls_fault_sets_the_null_rate(fake):
    fake.inject("data-quality", "nulls", rate=0.25)
    body = get(fake, "data-quality", "/metrics.json").json()
    assert body["null_rate"] == 0.25
    assert body["features"]["merchant_category"]["null_rate"] == 0.25
    assert body["features"]["country"]["null_rate"] == 0.001
    fake.clear("data-quality", "nulls")
    assert get(fake, "data-quality", "/metrics.json").json()["null_rate"] == 0.002


def test_gpu_memory_fault_sets_the_used_percent(fake):
    fake.inject("gpu-inference", "gpu_memory", percent=97)
    body = get(fake, "gpu-inference", "/gpu").json()
    assert (body["memory_used_percent"], body["gpus"][0]["memory_used_mib"]) == (97.0, 39731)
    fake.clear()
    assert get(fake, "gpu-inference", "/gpu").json()["memory_used_percent"] < 70


def test_refuse_stops_listening_then_listens_again_on_the_same_port(fake):
    port = fake.ports["fraud-scoring"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/v2/health/live")
    assert conn.getresponse().read() == b""  # a kept-alive connection, open before the fault

    fake.inject("fraud-scoring", "refuse")
    assert refused(port)
    with pytest.raises(urllib.error.URLError) as info:
        get(fake, "fraud-scoring", "/v2/health/live")
    assert isinstance(info.value.reason, ConnectionRefusedError)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        conn.request("GET", "/v2/health/live")  # the open connection died with the listener
        conn.getresponse()
    conn.close()
    assert get(fake, "recommendations", "/ping").status == 200  # the others still answer
    assert fake.state()["services"]["fraud-scoring"]["listening"] is False

    fake.clear("fraud-scoring")
    assert fake.ports["fraud-scoring"] == port
    assert get(fake, "fraud-scoring", "/v2/health/live").status == 200
    assert fake.state()["services"]["fraud-scoring"]["listening"] is True


def test_refuse_over_http_and_a_second_fault_keeps_the_port_closed(fake):
    port = fake.ports["model-registry"]
    control(fake, "POST", "/_control/faults", {"service": "model-registry", "fault": "refuse"})
    fake.inject("model-registry", "not_ready")
    assert refused(port)
    reply = control(fake, "DELETE", "/_control/faults?service=model-registry&fault=refuse")
    assert reply.json() == {"cleared": [{"service": "model-registry", "fault": "refuse"}]}
    assert refused(port)  # not_ready still holds MLflow's port closed
    control(fake, "DELETE", "/_control/faults")
    assert get(fake, "model-registry", "/health").status == 200


def test_injecting_again_replaces_the_fault(fake, clock):
    fake.inject("fraud-scoring", "latency", ms=100)
    clock.advance(30)
    fake.inject("fraud-scoring", "latency", ms=250)
    assert fake.state()["services"]["fraud-scoring"]["faults"] == {
        "latency": {"params": {"ms": 250}, "since": "2026-11-20T12:00:30Z"}
    }


def test_defaults_fill_missing_params(fake):
    assert fake.inject("gpu-inference", "gpu_memory")["params"] == {"percent": 97}
    assert fake.inject("data-quality", "drift")["params"] == {"score": 0.35, "over": 600}


def test_clearing_one_service_leaves_the_others(fake):
    fake.inject("fraud-scoring", "not_ready")
    fake.inject("gpu-inference", "gpu_memory", percent=90)
    reply = control(fake, "DELETE", "/_control/faults?service=fraud-scoring")
    assert reply.json() == {"cleared": [{"service": "fraud-scoring", "fault": "not_ready"}]}
    faults = {n: s["faults"] for n, s in fake.state()["services"].items() if s["faults"]}
    assert list(faults) == ["gpu-inference"]
    assert control(fake, "DELETE", "/_control/faults").json() == {
        "cleared": [{"service": "gpu-inference", "fault": "gpu_memory"}]
    }


# -- control validation ----------------------------------------------------------------------------

KNOWN_SERVICES = ", ".join(SERVICES)
KNOWN_FAULTS = ", ".join(FAULTS)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"service": "nope", "fault": "latency"},
            {
                "error": f"unknown service 'nope'; known services: {KNOWN_SERVICES}",
                "allowed": list(SERVICES),
            },
        ),
        (
            {"service": "fraud-scoring", "fault": "boom"},
            {
                "error": f"unknown fault 'boom'; known faults: {KNOWN_FAULTS}",
                "allowed": list(FAULTS),
            },
        ),
        (
            {"service": "fraud-scoring", "fault": "gpu_memory"},
            {
                "error": "fault 'gpu_memory' does not apply to service 'fraud-scoring'; "
                "its faults: latency, errors, not_ready, refuse",
                "allowed": ["latency", "errors", "not_ready", "refuse"],
            },
        ),
        (
            {"service": "gpu-inference", "fault": "not_ready"},
            {
                "error": "fault 'not_ready' does not apply to service 'gpu-inference'; "
                "its faults: latency, errors, gpu_memory, refuse",
                "allowed": ["latency", "errors", "gpu_memory", "refuse"],
            },
        ),
        (
            {"service": "fraud-scoring", "fault": "latency", "params": {"seconds": 1}},
            {
                "error": "fault 'latency' has no parameter 'seconds'; its parameters: ms",
                "allowed": ["ms"],
            },
        ),
        (
            {"service": "fraud-scoring", "fault": "refuse", "params": {"ms": 1}},
            {"error": "fault 'refuse' takes no parameters, got 'ms'", "allowed": []},
        ),
        (
            {"service": "fraud-scoring", "fault": "errors", "params": {"rate": 1.5}},
            {"error": "parameter 'rate' of fault 'errors' must be a number from 0 to 1, got 1.5"},
        ),
        (
            {"service": "fraud-scoring", "fault": "latency", "params": {"ms": "fast"}},
            {
                "error": "parameter 'ms' of fault 'latency' must be a number from 0 to 600000, got 'fast'"
            },
        ),
        (
            {"service": "fraud-scoring", "fault": "latency", "params": {"ms": True}},
            {
                "error": "parameter 'ms' of fault 'latency' must be a number from 0 to 600000, got True"
            },
        ),
        (
            {"service": "training-pipeline", "fault": "stale", "params": {"age": "soon"}},
            {
                "error": "parameter 'age' of fault 'stale' must be a duration such as '30h' "
                "or a number of seconds, at most 365d, got 'soon'"
            },
        ),
        (
            {"fault": "latency"},
            {
                "error": f"missing field 'service'; known services: {KNOWN_SERVICES}",
                "allowed": list(SERVICES),
            },
        ),
        (
            {"service": "fraud-scoring"},
            {
                "error": f"missing field 'fault'; known faults: {KNOWN_FAULTS}",
                "allowed": list(FAULTS),
            },
        ),
        (
            {"service": "fraud-scoring", "fault": "latency", "when": "now"},
            {
                "error": "unknown field 'when'; fields: service, fault, params",
                "allowed": ["service", "fault", "params"],
            },
        ),
        (
            {"service": "fraud-scoring", "fault": "latency", "params": [1]},
            {"error": "field 'params' must be a JSON object, got [1]"},
        ),
        (
            b"not json",
            {"error": "request body is not valid JSON: Expecting value: line 1 column 1 (char 0)"},
        ),
        (
            [],
            {
                "error": 'request body must be a JSON object: {"service": ..., "fault": ..., "params": {...}}'
            },
        ),
    ],
)
def test_invalid_inject_is_400_naming_what_is_allowed(fake, body, expected):
    reply = control(fake, "POST", "/_control/faults", body)
    assert reply.status == 400
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == expected
    assert all(not s["faults"] for s in fake.state()["services"].values())


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("service=nope", f"unknown service 'nope'; known services: {KNOWN_SERVICES}"),
        ("fault=boom", f"unknown fault 'boom'; known faults: {KNOWN_FAULTS}"),
        ("svc=x", "unknown query parameter 'svc'; allowed: service, fault"),
    ],
)
def test_invalid_clear_is_400(fake, query, message):
    reply = control(fake, "DELETE", f"/_control/faults?{query}")
    assert reply.status == 400
    assert reply.json()["error"] == message


def test_control_unknown_endpoint_and_method(fake):
    missing = control(fake, "GET", "/_control/nope")
    assert missing.status == 404
    assert missing.json() == {
        "error": "no such endpoint: GET /_control/nope; endpoints: POST /_control/faults, "
        "DELETE /_control/faults, GET /_control/state"
    }
    wrong = control(fake, "GET", "/_control/faults")
    assert (wrong.status, wrong.headers["Allow"]) == (405, "POST, DELETE")


def test_python_api_raises_the_same_errors(fake):
    with pytest.raises(FaultError) as info:
        fake.inject("fraud-scoring", "drift", score=0.5)
    assert info.value.message == (
        "fault 'drift' does not apply to service 'fraud-scoring'; "
        "its faults: latency, errors, not_ready, refuse"
    )
    with pytest.raises(FaultError, match=r"^unknown fault 'boom'; known faults: latency,"):
        fake.clear(fault="boom")


# -- the client ------------------------------------------------------------------------------------


def test_fake_control_injects_clears_and_reads_state(fake):
    client = FakeControl(fake.control_url)
    record = client.inject("gpu-inference", "gpu_memory", percent=95)
    assert record["params"] == {"percent": 95}
    assert get(fake, "gpu-inference", "/gpu").json()["memory_used_percent"] == 95.0
    assert client.state() == fake.state()
    assert client.clear("gpu-inference") == [{"service": "gpu-inference", "fault": "gpu_memory"}]
    assert client.clear() == []


def test_fake_control_raises_fault_errors_from_the_endpoint(fake):
    with pytest.raises(FaultError) as info:
        FakeControl(fake.control_url + "/_control").inject("nope", "latency")
    assert info.value.message == f"unknown service 'nope'; known services: {KNOWN_SERVICES}"
    assert info.value.allowed == list(SERVICES)


def test_fake_control_says_when_nothing_listens(fake):
    url = fake.control_url
    fake.stop()
    with pytest.raises(ControlError) as info:
        FakeControl(url, timeout=2).state()
    assert str(info.value) == (
        f"the fake system's control endpoint at {url} is not reachable: "
        "[Errno 111] Connection refused"
    )


# -- lifecycle -------------------------------------------------------------------------------------


def test_stop_frees_every_port(clock):
    system = FakeSystem(clock=clock).start()
    ports = [*system.ports.values(), system.control_port]
    system.stop()
    system.stop()  # a second stop is harmless
    for port in ports:
        assert refused(port)
        socket.create_server(("127.0.0.1", port)).close()  # and a server may take it again


def test_given_ports_are_used(clock):
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        wanted = {"feature-store": a.getsockname()[1], "control": b.getsockname()[1]}
    with FakeSystem(ports=wanted, clock=clock) as system:
        assert system.ports["feature-store"] == wanted["feature-store"]
        assert system.control_url == f"http://127.0.0.1:{wanted['control']}"
        assert get(system, "feature-store", "/health").status == 200


def test_a_taken_port_fails_start_and_releases_the_others(clock):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        system = FakeSystem(ports={"batch-scoring": port}, clock=clock)
        with pytest.raises(OSError):
            system.start()
    assert not system.running
    assert all(p == 0 or refused(p) for p in system.ports.values() if p != port)


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        ({"fraud": 1}, "unknown port key 'fraud'; expected one of: fraud-scoring,"),
        (
            {"fraud-scoring": 70000},
            "port of 'fraud-scoring' must be an integer from 0 to 65535, got 70000",
        ),
        (
            {"fraud-scoring": 9000, "control": 9000},
            "port 9000 is given to both 'fraud-scoring' and 'control'",
        ),
    ],
)
def test_bad_ports_are_refused_before_anything_listens(ports, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        FakeSystem(ports=ports)


def test_refuse_injected_before_start_keeps_its_port_closed(clock):
    system = FakeSystem(clock=clock)
    system.inject("recommendations", "refuse")
    with system:
        port = system.ports["recommendations"]
        assert port > 0 and refused(port)
        system.clear()
        assert get(system, "recommendations", "/ping").status == 200


def test_start_twice_is_an_error(fake):
    with pytest.raises(RuntimeError, match="already running"):
        fake.start()


async def test_async_api_runs_on_the_callers_loop(clock):
    async with FakeSystem(clock=clock) as system:
        reply = await asyncio.to_thread(get, system, "training-pipeline", "/status")
        assert reply.json()["pipeline"] == "nightly_training"
        await system.ainject("training-pipeline", "refuse")
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", system.ports["training-pipeline"])
        with pytest.raises(RuntimeError, match="use await ainject"):
            system.inject("training-pipeline", "latency", ms=5)
        assert await system.aclear() == [{"service": "training-pipeline", "fault": "refuse"}]
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", system.ports["training-pipeline"]
        )
        writer.write(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 200 OK\r\n")
        writer.close()
    assert not system.running
