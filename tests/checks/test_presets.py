"""Each preset against a server that answers the way that ML server does (DOMAIN.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_oncall.checks.probe import Prober
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_ok
from tests.checks.servers import Reply

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def probe_all(tmp_path, checks_yaml: str) -> dict:
    cs = load_ok(tmp_path, "defaults: {timeout: 0.5s}\nchecks:\n" + checks_yaml)
    async with Prober(redactor=cs.redactor, clock=FixedClock(T0)) as prober:
        return {spec.id: await prober.probe(spec) for spec in cs}


def summary(results) -> dict:
    return {k: (r.state, r.error_class, r.message) for k, r in results.items()}


async def test_oip_v2_like_mlserver_while_a_model_loads_and_when_unloaded(tmp_path, serve):
    # MLServer/Triton: empty bodies, 400 while loading; an unloaded model's /ready is 404
    # with a JSON error while the server's /v2/health/ready stays 200
    routes = {
        "/v2/health/live": Reply(200, b""),
        "/v2/health/ready": Reply(400, b""),
        "/v2/models/fraud/ready": Reply(400, b""),
    }
    srv = serve(routes)
    entry = f"  - {{id: fraud, preset: oip_v2, base_url: '{srv.url}', model: fraud}}\n"
    assert summary(await probe_all(tmp_path, entry)) == {
        "fraud.live": ("up", None, "ok"),
        "fraud.ready": ("down", "http_status", "[STATUS] = 400, expected == 200"),
        "fraud.model-ready": ("down", "http_status", "[STATUS] = 400, expected == 200"),
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


async def test_triton_checks_the_status_code_only(tmp_path, serve):
    srv = serve(
        {
            "/v2/health/live": Reply(200, b""),
            "/v2/health/ready": Reply(200, b""),
            "/v2/models/resnet/ready": Reply(200, b""),
        }
    )
    results = await probe_all(
        tmp_path, f"  - {{id: tri, preset: triton, base_url: '{srv.url}/', model: resnet}}\n"
    )
    assert summary(results) == {
        "tri.live": ("up", None, "ok"),
        "tri.ready": ("up", None, "ok"),
        "tri.model-ready": ("up", None, "ok"),
    }
    assert [c.condition for c in results["tri.model-ready"].conditions] == ["[STATUS] == 200"]


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
    inference["/ping"] = Reply(500, {"status": "Unhealthy"})
    management["/models/resnet"] = Reply(200, torchserve_models("READY", "UNLOADING"))
    results = await probe_all(tmp_path, entry)
    assert summary(results) == {
        "ts.ready": (
            "down",
            "http_status",
            '[STATUS] = 500, expected == 200; [BODY].status = "Unhealthy", expected == Healthy '
            '(body: \'{"status": "Unhealthy"}\')',
        ),
        "ts.model-ready": (
            "down",
            "condition",
            '[BODY][0].workers[1].status = "UNLOADING", expected == READY',
        ),
    }
    assert results["ts.model-ready"].conditions[2].observed == ["READY", "UNLOADING"]
    management["/models/resnet"] = Reply(200, torchserve_models())
    results = await probe_all(tmp_path, entry)
    assert results["ts.model-ready"].message == (
        "len([BODY][0].workers) = 0, expected > 0; [BODY][0].workers[*].status: no elements"
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
