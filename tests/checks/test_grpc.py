"""kind: grpc on the standard health protocol, against a real grpcio server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from mlops_oncall.checks.probe import Prober
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_errors, load_ok
from tests.checks.servers import free_port
from tests.checks.test_probe import T0

grpc = pytest.importorskip("grpc", reason="pip install -e '.[test]' (grpcio)")
from tests.checks.grpcservers import GrpcHealthServer  # noqa: E402


@pytest.fixture
def health():
    srv = GrpcHealthServer()
    yield srv
    srv.stop()


async def probe_all(tmp_path, checks_yaml: str, env=None):
    cs = load_ok(tmp_path, "defaults: {timeout: 2s}\nchecks:\n" + checks_yaml, env=env)
    async with Prober(redactor=cs.redactor, clock=FixedClock(T0)) as prober:
        return {spec.id: await prober.probe(spec) for spec in cs}


async def test_serving_is_up_and_not_serving_down(tmp_path, health):
    cs = load_ok(
        tmp_path,
        f"""
        checks:
          - id: g
            kind: grpc
            url: grpc://127.0.0.1:{health.port}
            conditions: ["[STATUS] == OK", "[RESPONSE_TIME] < 5000", "[BODY].status == SERVING"]
        """,
    )
    (spec,) = cs
    async with Prober(clock=FixedClock(T0)) as prober:
        up = await prober.probe(spec)
        assert (up.state, up.error_class, up.message) == ("up", None, "ok")
        assert [c.observed for c in up.conditions] == [
            "SERVING",
            "OK",
            up.conditions[2].observed,
            "SERVING",
        ]
        health.set("", "NOT_SERVING")  # the same channel, the server's status flipped
        down = await prober.probe(spec)
        assert (down.state, down.error_class) == ("down", "condition")
        assert down.message.startswith("serving status NOT_SERVING, expected SERVING")
        health.set("", "SERVING")
        assert (await prober.probe(spec)).state == "up"


async def test_named_service_and_unknown_service(tmp_path, health):
    health.set("fraud.Scorer", "SERVING")
    health.set("fraud.Old", "SERVICE_UNKNOWN")
    port = health.port
    r = await probe_all(
        tmp_path,
        f"""  - {{id: named, kind: grpc, url: 'grpc://127.0.0.1:{port}', grpc_service: fraud.Scorer}}
  - {{id: missing, kind: grpc, url: 'grpc://127.0.0.1:{port}', grpc_service: nosuch}}
  - {{id: said, kind: grpc, url: 'grpc://127.0.0.1:{port}', grpc_service: fraud.Old}}
""",
    )
    assert r["named"].state == "up"
    assert (r["missing"].state, r["missing"].error_class) == ("down", "service_unknown")
    assert r["missing"].message == (
        f"127.0.0.1:{port} does not know the service asked for (NOT_FOUND)"
    )
    assert (r["said"].state, r["said"].error_class) == ("down", "service_unknown")
    assert r["said"].message == "serving status SERVICE_UNKNOWN, expected SERVING"
    asked = [dict(m) for m in health.servicer.seen]
    assert len(asked) == 3


async def test_stopped_server_is_connect(tmp_path, health):
    cs = load_ok(
        tmp_path, f"checks:\n  - {{id: g, kind: grpc, url: 'grpc://127.0.0.1:{health.port}'}}\n"
    )
    (spec,) = cs
    async with Prober(clock=FixedClock(T0)) as prober:
        assert (await prober.probe(spec)).state == "up"
        health.stop()
        r = await prober.probe(spec)
    assert (r.state, r.error_class) == ("down", "connect")
    assert f"127.0.0.1:{health.port}" in r.message and "UNAVAILABLE" in r.message


async def test_nothing_listening_is_connection_refused(tmp_path):
    port = free_port()
    r = (await probe_all(tmp_path, f"  - {{id: g, kind: grpc, url: 'grpc://127.0.0.1:{port}'}}\n"))[
        "g"
    ]
    assert (r.error_class, r.message) == (
        "connect",
        f"connection refused by 127.0.0.1:{port} (UNAVAILABLE)",
    )


async def test_slow_past_the_deadline_is_timeout(tmp_path, health):
    health.servicer.hold.set()
    r = (
        await probe_all(
            tmp_path,
            f"  - {{id: g, kind: grpc, url: 'grpc://127.0.0.1:{health.port}', timeout: 0.3s}}\n",
        )
    )["g"]
    assert (r.state, r.error_class) == ("down", "timeout")
    assert r.message == f"no reply from 127.0.0.1:{health.port} within 0.3s (DEADLINE_EXCEEDED)"


async def test_server_without_health_service_is_unimplemented(tmp_path):
    from concurrent import futures

    bare = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = bare.add_insecure_port("127.0.0.1:0")
    bare.start()
    try:
        r = (
            await probe_all(
                tmp_path, f"  - {{id: g, kind: grpc, url: 'grpc://127.0.0.1:{port}'}}\n"
            )
        )["g"]
    finally:
        bare.stop(None)
    assert (r.error_class, r.message) == (
        "unimplemented",
        f"127.0.0.1:{port} does not implement /grpc.health.v1.Health/Check (UNIMPLEMENTED)",
    )


async def test_metadata_from_env_is_sent_and_redacted(tmp_path, health):
    health.servicer.token = "s3cret-token-value"
    checks = f"""  - id: g
    kind: grpc
    url: grpc://127.0.0.1:{health.port}
    headers: {{Authorization: 'Bearer ${{env:GRPC_TOKEN}}', X-Team: ml}}
"""
    good = (await probe_all(tmp_path, checks, env={"GRPC_TOKEN": "s3cret-token-value"}))["g"]
    assert good.state == "up"
    sent = dict(health.servicer.seen[-1])
    assert (sent["authorization"], sent["x-team"]) == ("Bearer s3cret-token-value", "ml")

    health.servicer.token = "rotated"  # the server now wants another token
    bad = (await probe_all(tmp_path, checks, env={"GRPC_TOKEN": "s3cret-token-value"}))["g"]
    assert bad.error_class == "unauthenticated"
    assert "s3cret-token-value" not in json.dumps(bad.to_json())
    assert "token Bearer *** refused" in bad.message


async def test_grpcs_verifies_with_the_ca_of_ssl_cert_file(tmp_path, tls_ca, monkeypatch):
    cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    creds = grpc.ssl_server_credentials(
        [(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes())]
    )
    srv = GrpcHealthServer(creds)
    try:
        checks = f"  - {{id: g, kind: grpc, url: 'grpcs://localhost:{srv.port}'}}\n"
        untrusted = (await probe_all(tmp_path, checks))["g"]
        assert (untrusted.state, untrusted.error_class) == ("down", "tls")
        ca = tmp_path / "ca.pem"
        tls_ca.cert_pem.write_to_path(str(ca))
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        trusted = (await probe_all(tmp_path, checks))["g"]
        assert (trusted.state, trusted.message) == ("up", "ok")
    finally:
        srv.stop()


async def test_grpcs_insecure_trusts_the_certificate_presented(tmp_path, tls_ca):
    # issued to another name than the URL's, by a CA nobody trusts: only insecure passes
    cert = tls_ca.issue_cert("scorer.internal")
    creds = grpc.ssl_server_credentials(
        [(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes())]
    )
    srv = GrpcHealthServer(creds)
    try:
        url = f"grpcs://127.0.0.1:{srv.port}"
        r = await probe_all(
            tmp_path,
            f"  - {{id: strict, kind: grpc, url: '{url}'}}\n"
            f"  - {{id: lax, kind: grpc, url: '{url}', insecure: true}}\n",
        )
    finally:
        srv.stop()
    assert (r["strict"].state, r["strict"].error_class) == ("down", "tls")
    assert (r["lax"].state, r["lax"].message) == ("up", "ok")


def test_grpc_config_errors_are_located(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, kind: grpc, url: 'http://127.0.0.1:1'}
          - {id: b, kind: grpc, url: 'grpc://127.0.0.1'}
          - {id: c, url: 'http://127.0.0.1:1', grpc_service: x}
          - {id: d, kind: grpc, url: 'grpc://h:1', method: POST}
          - {id: e, kind: grpc, url: 'grpc://h:1', conditions: ['[HEADER].x == y']}
          - {id: f, kind: grpcx, url: 'grpc://h:1'}
        """,
    )
    text = "\n".join(errors)
    assert (
        "checks.yaml:2:30: checks[0].url: expected grpc://host:port or grpcs://host:port, got 'http://127.0.0.1:1'"
        in text
    )
    assert "checks.yaml:3:30: checks[1].url: expected grpc://host:port" in text
    assert "checks.yaml:4:40: checks[2].grpc_service: grpc_service is for kind grpc" in text
    assert "checks[3].method: a grpc check has no method; remove it" in text
    assert "checks[4].conditions[0]: a grpc check has no HTTP headers" in text
    assert "checks[5].kind:" in text and "grpc" in text


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_without_the_extra_a_located_error_names_the_install(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text("checks:\n  - {id: g, kind: grpc, url: 'grpc://127.0.0.1:1'}\n")
    out = _run(
        f"""
        import sys
        sys.modules["grpc"] = None  # as if grpcio were not installed
        from mlops_oncall.checks.config import load_checks
        cs, problems = load_checks({str(path)!r}, display="checks.yaml")
        print(cs, [str(p) for p in problems])
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        'None ["checks.yaml:2:19: checks[0].kind: kind grpc needs the grpc extra: '
        "pip install 'mlops-oncall[grpc]'\"]"
    )


def test_no_grpc_or_dns_import_without_such_a_check(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n  - {id: h, url: 'http://127.0.0.1:1'}\n"
        "  - {id: t, kind: tcp, url: 'tcp://127.0.0.1:1'}\n"
    )
    out = _run(
        f"""
        import asyncio, sys
        import mlops_oncall.checks.probe
        from mlops_oncall.checks.config import load_checks
        from mlops_oncall.checks.probe import Prober
        cs, _ = load_checks({str(path)!r})
        async def main():
            async with Prober() as prober:
                for spec in cs:
                    await prober.probe(spec)
        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("grpc", "google", "dns")))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- OIP presets


class OipServer:
    """A gRPC server speaking the OIP readiness calls from KServe's proto messages
    (checks/oip_grpc.py), with flags the test sets; it records the ModelReady requests."""

    def __init__(self) -> None:
        from concurrent import futures

        from mlops_oncall.checks import oip_grpc

        self.live, self.ready, self.models = True, True, {"fraud": True}
        self.asked: list[tuple[str, str]] = []
        m = oip_grpc.methods()

        def unary(name, answer):
            req, resp = m[f"/{oip_grpc.SERVICE}/{name}"]
            return grpc.unary_unary_rpc_method_handler(
                lambda request, context: resp(**answer(request, context)),
                request_deserializer=req.FromString,
                response_serializer=resp.SerializeToString,
            )

        def model_ready(request, context):
            self.asked.append((request.name, request.version))
            if request.name not in self.models:
                context.abort(
                    grpc.StatusCode.NOT_FOUND, f"Request for unknown model: '{request.name}'"
                )
            return {"ready": self.models[request.name]}

        handler = grpc.method_handlers_generic_handler(
            oip_grpc.SERVICE,
            {
                "ServerLive": unary("ServerLive", lambda r, c: {"live": self.live}),
                "ServerReady": unary("ServerReady", lambda r, c: {"ready": self.ready}),
                "ModelReady": unary("ModelReady", model_ready),
            },
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def stop(self) -> None:
        self.server.stop(None).wait(5)


@pytest.fixture
def oip():
    srv = OipServer()
    yield srv
    srv.stop()


def _summary(results):
    return {k: (r.state, r.error_class, r.message) for k, r in results.items()}


async def test_triton_grpc_has_the_states_of_its_rest_twin(tmp_path, oip):
    entry = (
        f"  - {{id: t, preset: triton_grpc, base_url: 'grpc://127.0.0.1:{oip.port}', "
        "model: fraud, model_version: '2'}\n"
    )
    assert _summary(await probe_all(tmp_path, entry)) == {
        "t.live": ("up", None, "ok"),
        "t.ready": ("up", None, "ok"),
        "t.model-ready": ("up", None, "ok"),
    }
    assert oip.asked == [("fraud", "2")]
    oip.ready, oip.models["fraud"] = False, False  # strict readiness: the model is loading
    assert _summary(await probe_all(tmp_path, entry)) == {
        "t.live": ("up", None, "ok"),
        "t.ready": ("degraded", "condition", "[BODY].ready = false, expected == true"),
        "t.model-ready": ("down", "condition", "[BODY].ready = false, expected == true"),
    }
    oip.live = False
    assert _summary(await probe_all(tmp_path, entry))["t.live"] == (
        "down",
        "condition",
        "[BODY].live = false, expected == true",
    )


async def test_oip_v2_grpc_without_model_and_an_unknown_model(tmp_path, oip):
    base = f"grpc://127.0.0.1:{oip.port}"
    got = await probe_all(
        tmp_path,
        f"  - {{id: s, preset: oip_v2_grpc, base_url: '{base}'}}\n"
        f"  - {{id: u, preset: oip_v2_grpc, base_url: '{base}', model: nosuch}}\n",
    )
    assert set(got) == {"s.live", "s.ready", "u.live", "u.ready", "u.model-ready"}
    assert got["s.ready"].state == "up"
    assert (got["u.model-ready"].error_class, got["u.model-ready"].message) == (
        "grpc_status",
        f"/inference.GRPCInferenceService/ModelReady on 127.0.0.1:{oip.port} ended NOT_FOUND: "
        "Request for unknown model: 'nosuch'",
    )


def test_grpc_preset_errors_are_located(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, preset: oip_v2_grpc, base_url: 'http://127.0.0.1:1'}
          - {id: b, preset: oip_v2, base_url: 'http://h:1', model: m, model_version: '1'}
          - {id: c, preset: triton_grpc, base_url: 'grpc://h:1', model_version: '1'}
        """,
    )
    text = "\n".join(errors)
    assert "checks[0].base_url: expected grpc://host:port or grpcs://host:port" in text
    assert "checks[1].model_version: model_version is an oip_v2_grpc and triton_grpc" in text
    assert "checks[2].model_version: model_version is an oip_v2_grpc and triton_grpc" in text
