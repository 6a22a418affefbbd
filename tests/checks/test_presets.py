"""Each preset against a local server that answers as that ML server does (status codes and bodies
from the source file named in the preset's docstring); tests/real_servers runs the real ones."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_oncall.checks.probe import Prober
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_errors, load_ok
from tests.checks.servers import Reply

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def probe_all(tmp_path, checks_yaml: str) -> dict:
    cs = load_ok(tmp_path, "defaults: {timeout: 2s}\nchecks:\n" + checks_yaml)
    async with Prober(redactor=cs.redactor, clock=FixedClock(T0)) as prober:
        return {spec.id: await prober.probe(spec) for spec in cs}


def summary(results) -> dict:
    return {k: (r.state, r.error_class, r.message) for k, r in results.items()}


async def test_oip_v2_like_mlserver_while_a_model_loads_and_when_unloaded(tmp_path, serve):
    # MLServer 1.7.1: empty bodies, 400 while loading; server-ready is "all models ready", so
    # with another model loading it is 400 while this one is ready: degraded, not down
    routes = {
        "/v2/health/live": Reply(200, b""),
        "/v2/health/ready": Reply(400, b""),
        "/v2/models/fraud/ready": Reply(400, b""),
    }
    srv = serve(routes)
    entry = f"  - {{id: fraud, preset: oip_v2, base_url: '{srv.url}', model: fraud}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "fraud.live": ("up", None, "ok"),
        "fraud.ready": ("degraded", "http_status", "[STATUS] = 400, expected == 200"),
        "fraud.model-ready": ("down", "http_status", "[STATUS] = 400, expected == 200"),
    }
    routes["/v2/models/fraud/ready"] = Reply(200, b"")  # another model is still loading
    assert summary(await probe_all(tmp_path, entry)) == {
        "fraud.live": ("up", None, "ok"),
        "fraud.ready": ("degraded", "http_status", "[STATUS] = 400, expected == 200"),
        "fraud.model-ready": ("up", None, "ok"),
    }
    routes["/v2/health/ready"] = Reply(200, b"")
    routes["/v2/models/fraud/ready"] = Reply(404, {"error": "Model fraud not found"})
    assert summary(await probe_all(tmp_path, entry)) == {
        "fraud.live": ("up", None, "ok"),
        "fraud.ready": ("up", None, "ok"),
        "fraud.model-ready": (
            "down",
            "http_status",
            '[STATUS] = 404, expected == 200 (body: \'{"error": "Model fraud not found"}\')',
        ),
    }
    routes["/v2/models/fraud/ready"] = Reply(200, b"")
    assert {r.state for r in (await probe_all(tmp_path, entry)).values()} == {"up"}
    # the probes are GETs: MLServer and MLflow answer HEAD with 405
    assert {m for m, _, _ in srv.requests} == {"GET"}


async def test_oip_v2_without_a_model_the_server_ready_is_the_verdict(tmp_path, serve):
    # KServe 0.21.0's Python server answers 503 for a model (and so a server) not ready
    srv = serve({"/v2/health/live": Reply(200, b""), "/v2/health/ready": Reply(503, b"")})
    entry = f"  - {{id: ks, preset: oip_v2, base_url: '{srv.url}'}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "ks.live": ("up", None, "ok"),
        "ks.ready": ("down", "http_status", "[STATUS] = 503, expected == 200"),
    }


async def test_triton_strict_readiness_and_model_version_not_ready(tmp_path, serve):
    # Triton src/http_server.cc: HandleServerHealth sends 400 with no body; HandleModelReady
    # sends 400 {"error":"Model version not ready"} (TritonJson, no spaces)
    not_ready = Reply(
        400, b'{"error":"Model version not ready"}', {"Content-Type": "application/json"}
    )
    routes = {
        "/v2/health/live": Reply(200, b""),
        "/v2/health/ready": Reply(400, b""),  # --strict-readiness: another model is unavailable
        "/v2/models/resnet/ready": Reply(200, b""),
    }
    srv = serve(routes)
    entry = f"  - {{id: tri, preset: triton, base_url: '{srv.url}/', model: resnet}}\n"
    results = await probe_all(tmp_path, entry)
    assert summary(results) == {
        "tri.live": ("up", None, "ok"),
        "tri.ready": ("degraded", "http_status", "[STATUS] = 400, expected == 200"),
        "tri.model-ready": ("up", None, "ok"),
    }
    routes["/v2/models/resnet/ready"] = not_ready
    assert summary(await probe_all(tmp_path, entry))["tri.model-ready"] == (
        "down",
        "http_status",
        '[STATUS] = 400, expected == 200 (body: \'{"error":"Model version not ready"}\')',
    )
    routes["/v2/health/ready"] = Reply(200, b"")
    routes["/v2/models/resnet/ready"] = Reply(200, b"")
    assert {r.state for r in (await probe_all(tmp_path, entry)).values()} == {"up"}


async def test_kserve_v1_model_ready_and_503_while_loading(tmp_path, serve):
    routes = {
        "/": Reply(200, {"status": "alive"}),
        "/v1/models/iris": Reply(200, {"name": "iris", "ready": True}),
    }
    srv = serve(routes)
    entry = f"  - {{id: iris, preset: kserve_v1, base_url: '{srv.url}', model: iris}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "iris.live": ("up", None, "ok"),
        "iris.model-ready": ("up", None, "ok"),
    }
    routes["/v1/models/iris"] = Reply(503, {"error": "Model with name iris is not ready."})
    assert summary(await probe_all(tmp_path, entry))["iris.model-ready"][0:2] == (
        "down",
        "http_status",
    )


def torchserve_models(*statuses):
    return [
        {
            "modelName": "resnet",
            "modelVersion": "1.0",
            "minWorkers": 2,
            "workers": [
                {"id": str(9000 + i), "status": s, "gpu": False, "memoryUsage": 0}
                for i, s in enumerate(statuses)
            ],
        }
    ]


async def test_torchserve_ping_and_worker_status(tmp_path, serve):
    inference = {"/ping": Reply(200, {"status": "Healthy"})}
    management = {"/models/resnet": Reply(200, torchserve_models("READY", "READY"))}
    inf, mgmt = serve(inference), serve(management)
    entry = (
        f"  - {{id: ts, preset: torchserve, base_url: '{inf.url}', "
        f"management_url: '{mgmt.url}', model: resnet}}\n"
    )
    assert summary(await probe_all(tmp_path, entry)) == {
        "ts.ready": ("up", None, "ok"),
        "ts.model-ready": ("up", None, "ok"),
    }
    # TorchServe >= 0.8: /ping is 500 "Unhealthy" once a model has fewer workers than its
    # minWorkers; the management API says how many are still READY
    inference["/ping"] = Reply(500, {"status": "Unhealthy"})
    management["/models/resnet"] = Reply(200, torchserve_models("READY", "UNLOADING"))
    results = await probe_all(tmp_path, entry)
    assert summary(results) == {
        "ts.ready": (
            "down",
            "http_status",
            '[STATUS] = 500, expected == 200 (body: \'{"status": "Unhealthy"}\')',
        ),
        "ts.model-ready": (
            "degraded",
            "condition",
            "1 of 2 workers READY (minWorkers 2); others UNLOADING",
        ),
    }
    management["/models/resnet"] = Reply(200, torchserve_models("UNLOADING", "UNLOADING"))
    assert summary(await probe_all(tmp_path, entry))["ts.model-ready"] == (
        "down",
        "condition",
        "0 of 2 workers READY (minWorkers 2); others UNLOADING",
    )
    management["/models/resnet"] = Reply(200, torchserve_models())
    assert summary(await probe_all(tmp_path, entry))["ts.model-ready"] == (
        "down",
        "condition",
        "0 of 0 workers READY (minWorkers 2)",
    )


async def test_torchserve_partial_healthy_is_degraded(tmp_path, serve):
    # TorchServe <= 0.7.1 (ApiUtils.getWorkerStatus): 200 with "Partial Healthy"
    srv = serve({"/ping": Reply(200, {"status": "Partial Healthy"})})
    entry = f"  - {{id: ts, preset: torchserve, base_url: '{srv.url}'}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "ts.ready": (
            "degraded",
            "condition",
            '[BODY].status = "Partial Healthy", expected == Healthy',
        )
    }


def _token_route(key: str, reply: Reply):
    # TokenAuthorizationHandler: "Bearer <key>" or 400 InvalidKeyException
    refused = Reply(
        400,
        {
            "code": 400,
            "type": "InvalidKeyException",
            "message": "Token Authorization failed. Token either incorrect, expired, or not "
            "provided correctly",
        },
    )

    def route(handler):
        return reply if handler.headers.get("Authorization") == f"Bearer {key}" else refused

    return route


async def test_torchserve_token_authorisation_from_the_environment(tmp_path, serve):
    inf = serve({"/ping": _token_route("inf-K3y", Reply(200, {"status": "Healthy"}))})
    mgmt = serve(
        {
            "/models/resnet": _token_route(
                "mgmt-S3cret", Reply(200, torchserve_models("READY", "READY"))
            )
        }
    )
    text = (
        "defaults: {timeout: 2s}\nchecks:\n"
        f"  - {{id: ts, preset: torchserve, base_url: '{inf.url}', management_url: '{mgmt.url}',"
        " model: resnet, management_token: '${env:TS_MGMT}', inference_token: '${env:TS_INF}'}\n"
    )
    cs = load_ok(tmp_path, text, env={"TS_MGMT": "mgmt-S3cret", "TS_INF": "inf-K3y"})
    async with Prober(redactor=cs.redactor, clock=FixedClock(T0)) as prober:
        results = {spec.id: await prober.probe(spec) for spec in cs}
    assert summary(results) == {
        "ts.ready": ("up", None, "ok"),
        "ts.model-ready": ("up", None, "ok"),
    }
    # each key went to its own API, and nothing shown carries either
    assert mgmt.requests[0][2]["Authorization"] == "Bearer mgmt-S3cret"
    assert inf.requests[0][2]["Authorization"] == "Bearer inf-K3y"
    shown = repr([(spec.summary(), spec.request) for spec in cs]) + repr(
        [r.to_json() for r in results.values()]
    )
    assert "S3cret" not in shown and "K3y" not in shown
    assert "mgmt-S3cret" not in cs.redactor.text("key mgmt-S3cret")
    # a wrong key is the server's 400, reported as such
    cs = load_ok(tmp_path, text, env={"TS_MGMT": "wrong", "TS_INF": "inf-K3y"})
    async with Prober(redactor=cs.redactor, clock=FixedClock(T0)) as prober:
        r = await prober.probe(cs.specs["ts.model-ready"])
    assert (r.state, r.error_class) == ("down", "http_status")
    assert "InvalidKeyException" in r.message


def test_torchserve_tokens_come_from_the_environment_only(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - id: ts
            preset: torchserve
            base_url: http://127.0.0.1:8080
            management_url: http://127.0.0.1:8081
            model: resnet
            management_token: B-E5KSRM
        """,
    )
    assert len(errors) == 1 and errors[0].endswith(
        "checks[0].management_token: management_token must come from the "
        "environment: write management_token: ${env:NAME}"
    )
    errors = load_errors(
        tmp_path,
        "checks:\n  - {id: b, preset: bentoml, base_url: 'http://h', inference_token: '${env:T}'}\n",
        env={"T": "x"},
    )
    assert len(errors) == 1 and errors[0].endswith(
        "checks[0].inference_token: inference_token is a torchserve parameter; remove it"
    )


async def test_mlflow_ping_body_is_not_json_and_that_is_fine(tmp_path, serve, refused_url):
    # MLflow 3.x answers "\n" labelled application/json; no condition may read it as JSON
    routes = {
        "/ping": Reply(200, b"\n", {"Content-Type": "application/json"}),
        "/health": Reply(200, b"\n", {"Content-Type": "application/json"}),
    }
    srv = serve(routes)
    assert summary(
        await probe_all(tmp_path, f"  - {{id: mlf, preset: mlflow, base_url: '{srv.url}'}}\n")
    ) == {"mlf.live": ("up", None, "ok"), "mlf.ready": ("up", None, "ok")}
    # until the model has loaded the port refuses connections
    port = refused_url.rsplit(":", 1)[1]
    results = await probe_all(
        tmp_path, f"  - {{id: mlf, preset: mlflow, base_url: '{refused_url}'}}\n"
    )
    assert summary(results)["mlf.live"] == (
        "down",
        "connect",
        f"connection refused by 127.0.0.1:{port}",
    )


async def test_bentoml_readyz_503_says_why(tmp_path, serve):
    routes = {
        "/livez": Reply(200, b"\n"),
        "/readyz": Reply(503, b"Runners are not ready.", {"Content-Type": "text/plain"}),
    }
    srv = serve(routes)
    entry = f"  - {{id: bento, preset: bentoml, base_url: '{srv.url}'}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "bento.live": ("up", None, "ok"),
        "bento.ready": (
            "down",
            "http_status",
            "[STATUS] = 503, expected == 200 (body: 'Runners are not ready.')",
        ),
    }


def health(status, **checks):
    return Reply(
        200 if status != "fail" else 503,
        {"status": status, "version": "1", "checks": checks},
        {"Content-Type": "application/health+json"},
    )


async def test_health_json_maps_status_and_reports_every_entry(tmp_path, serve):
    routes = {
        "/health": health(
            "pass",
            **{
                "redis:responseTime": [
                    {
                        "componentId": "r1",
                        "observedValue": 3,
                        "observedUnit": "ms",
                        "status": "pass",
                    }
                ],
                "offline-store:freshness": [
                    {"observedValue": 1.5, "observedUnit": "h", "status": "pass"}
                ],
            },
        )
    }
    srv = serve(routes)
    entry = f"  - {{id: feature-store, preset: health_json, base_url: '{srv.url}'}}\n"
    r = (await probe_all(tmp_path, entry))["feature-store.health"]
    assert (r.state, r.error_class, r.message) == ("up", None, "ok")
    assert [c.to_json() for c in r.conditions] == [
        {
            "condition": "[BODY].status",
            "level": "fail",
            "success": True,
            "observed": "pass",
            "message": 'status = "pass"',
        },
        {
            "condition": "redis:responseTime",
            "level": "warn",
            "success": True,
            "observed": 3,
            "message": "redis:responseTime = 3 ms: pass",
        },
        {
            "condition": "offline-store:freshness",
            "level": "warn",
            "success": True,
            "observed": 1.5,
            "message": "offline-store:freshness = 1.5 h: pass",
        },
    ]
    routes["/health"] = health(
        "warn",
        **{
            "redis:responseTime": [
                {"componentId": "r1", "observedValue": 3, "observedUnit": "ms", "status": "pass"},
                {"componentId": "r2", "observedValue": 480, "observedUnit": "ms", "status": "warn",
                 "output": "slow replica"},
            ]
        },
    )  # fmt: skip
    r = (await probe_all(tmp_path, entry))["feature-store.health"]
    assert (r.state, r.error_class, r.message) == (
        "degraded",
        "condition",
        'status = "warn"; redis:responseTime[r2] = 480 ms: warn (slow replica)',
    )
    routes["/health"] = health(
        "down",
        **{"offline-store:freshness": {"observedValue": 30, "observedUnit": "h", "status": "fail",
                                       "output": "materialisation stuck"}},
    )  # fmt: skip
    r = (await probe_all(tmp_path, entry))["feature-store.health"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "condition",
        'status = "down"; offline-store:freshness = 30 h: fail (materialisation stuck)',
    )
    routes["/health"] = Reply(200, {"status": "sideways"})
    r = (await probe_all(tmp_path, entry))["feature-store.health"]
    assert (r.state, r.message) == (
        "down",
        'status = "sideways" is not one of pass, warn, fail (ok/up, error/down)',
    )
    routes["/health"] = Reply(200, b"OK")
    r = (await probe_all(tmp_path, entry))["feature-store.health"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "body_parse",
        "[BODY] is not valid JSON (Expecting value)",
    )


async def test_user_conditions_apply_to_every_expanded_check(tmp_path, serve):
    srv = serve({"/livez": Reply(200, b""), "/readyz": Reply(200, b"")})
    cs = load_ok(
        tmp_path,
        f"""
        checks:
          - id: bento
            preset: bentoml
            base_url: {srv.url}
            warn: ["[RESPONSE_TIME] < 5000"]
            runbook: model-latency-spike
        """,
    )
    for spec in cs:
        assert [c.condition.text for c in spec.conditions] == [
            "[STATUS] == 200",
            "[RESPONSE_TIME] < 5000",
        ]
        assert spec.runbook == "model-latency-spike"


async def test_mlflow_tracking_health_is_ok_and_ready_reads_the_store(tmp_path, serve):
    # MLflow 3.17.2's tracking server: /health "OK" (text/plain), no /ping (Flask's HTML 404)
    routes = {
        "/health": Reply(200, b"OK", {"Content-Type": "text/plain; charset=utf-8"}),
        "/api/2.0/mlflow/registered-models/search": Reply(200, {"registered_models": []}),
    }
    srv = serve(routes)
    entry = f"  - {{id: t, preset: mlflow_tracking, base_url: '{srv.url}'}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "t.live": ("up", None, "ok"),
        "t.ready": ("up", None, "ok"),
    }
    assert srv.requests[-1][1] == "/api/2.0/mlflow/registered-models/search?max_results=1"
    routes["/api/2.0/mlflow/registered-models/search"] = Reply(
        500, {"error_code": "INTERNAL_ERROR", "message": "database is locked"}
    )
    assert summary(await probe_all(tmp_path, entry))["t.ready"][:2] == ("down", "http_status")
    # a scoring server's "\n" is not the tracking server's "OK"
    routes["/health"] = Reply(200, b"\n", {"Content-Type": "application/json"})
    assert summary(await probe_all(tmp_path, entry))["t.live"] == (
        "down",
        "condition",
        '[BODY] = "\\n", expected == OK',
    )


def test_mlflow_is_a_deprecated_alias_of_mlflow_scoring(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text("checks:\n  - {id: m, preset: mlflow, base_url: 'http://127.0.0.1:5001'}\n")
    from mlops_oncall.checks.config import load_checks

    cs, problems = load_checks(path, display="checks.yaml", env={})
    assert cs is not None
    assert [str(p) for p in problems] == [
        "checks.yaml:2:21: warning: checks[0].preset: preset mlflow is deprecated: it probes "
        "MLflow's scoring server (/ping); write mlflow_scoring for `mlflow models serve`, or "
        "mlflow_tracking for `mlflow server`"
    ]
    assert {s.id: s.url for s in cs} == {
        "m.live": "http://127.0.0.1:5001/ping",
        "m.ready": "http://127.0.0.1:5001/health",
    }


async def test_llm_servers_health_and_queue(tmp_path, serve):
    # vLLM (instrumentator/health.py) and TGI (router/src/server.rs): an empty 200, or 503;
    # their queues are Prometheus gauges on /metrics
    metrics = (
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
        "# TYPE vllm:num_requests_waiting gauge\n"
        'vllm:num_requests_waiting{engine="0",model_name="llama"} 3.0\n'
        'vllm:num_requests_waiting{engine="1",model_name="llama"} 4.0\n'
        'vllm:num_requests_waiting_by_reason{reason="capacity"} 99.0\n'
        "# TYPE tgi_queue_size gauge\n"
        "tgi_queue_size 12\n"
    )
    routes = {
        "/health": Reply(200, b""),
        "/metrics": Reply(200, metrics, {"Content-Type": "text/plain; version=0.0.4"}),
    }
    srv = serve(routes)
    for preset in ("vllm", "tgi"):
        entry = f"  - {{id: x, preset: {preset}, base_url: '{srv.url}'}}\n"
        assert summary(await probe_all(tmp_path, entry)) == {
            "x.health": ("up", None, "ok"),
            "x.queue": ("up", None, "ok"),
        }
    results = await probe_all(
        tmp_path, f"  - {{id: x, preset: vllm, base_url: '{srv.url}', max_queue: 5}}\n"
    )
    assert summary(results)["x.queue"] == (
        "degraded",
        "condition",
        "vllm:num_requests_waiting = 7, expected <= 5",
    )
    results = await probe_all(
        tmp_path, f"  - {{id: x, preset: tgi, base_url: '{srv.url}', max_queue: 20}}\n"
    )
    assert results["x.queue"].conditions[0].message == "tgi_queue_size = 12"
    routes["/metrics"] = Reply(200, "# nothing here\n")
    assert summary(await probe_all(tmp_path, entry))["x.queue"] == (
        "down",
        "condition",
        "tgi_queue_size: not in /metrics",
    )
    entry = f"  - {{id: x, preset: feast, base_url: '{srv.url}'}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {"x.health": ("up", None, "ok")}
    routes["/health"] = Reply(503, {"error": "unhealthy", "error_type": "healthcheck"})
    entry = f"  - {{id: x, preset: tgi, base_url: '{srv.url}'}}\n"
    assert summary(await probe_all(tmp_path, entry))["x.health"] == (
        "down",
        "http_status",
        "[STATUS] = 503, expected == 200 "
        '(body: \'{"error": "unhealthy", "error_type": "healthcheck"}\')',
    )
    errors = load_errors(
        tmp_path, "checks:\n  - {id: f, preset: feast, base_url: 'http://h', max_queue: 5}\n"
    )
    assert len(errors) == 1 and errors[0].endswith(
        "checks[0].max_queue: max_queue is a vllm, tgi and vllm_queue parameter; remove it"
    ), errors


async def test_ray_serve_healthz_and_routes(tmp_path, serve):
    # ray/serve/_private/proxy.py: "success", or 503 with the reason; routes {prefix: app}
    routes = {
        "/-/healthz": Reply(200, "success"),
        "/-/routes": Reply(200, {"/echo": "echo"}),
    }
    srv = serve(routes)
    entry = f"  - {{id: r, preset: ray_serve, base_url: '{srv.url}'}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "r.health": ("up", None, "ok"),
        "r.routes": ("up", None, "ok"),
    }
    routes["/-/healthz"] = Reply(503, "This node is being drained.")
    routes["/-/routes"] = Reply(503, "This node is being drained.")
    assert summary(await probe_all(tmp_path, entry))["r.health"] == (
        "down",
        "http_status",
        "[STATUS] = 503, expected == 200 (body: 'This node is being drained.')",
    )


def test_model_is_refused_where_a_preset_checks_the_whole_server(tmp_path):
    for preset in ("vllm", "tgi", "ray_serve", "feast", "mlflow_tracking"):
        errors = load_errors(
            tmp_path,
            f"checks:\n  - {{id: x, preset: {preset}, base_url: 'http://h', model: m}}\n",
        )
        assert len(errors) == 1 and errors[0].endswith(
            f"checks[0].model: preset {preset} checks the whole server; remove model"
        ), errors
    errors = load_errors(
        tmp_path, "checks:\n  - {id: k, preset: kserve_v1, base_url: 'http://h'}\n"
    )
    assert len(errors) == 1 and errors[0].endswith(
        "preset kserve_v1 needs model (its /v1/models/{model})"
    ), errors
