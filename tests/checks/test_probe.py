"""Probes against real servers on 127.0.0.1, through the probe transport. No mocks."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

from mlops_oncall.checks.probe import Prober, classify
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_ok
from tests.checks.servers import Reply

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def run(tmp_path, checks_yaml: str, env=None, **prober_kw):
    cs = load_ok(tmp_path, "defaults: {timeout: 0.4s}\nchecks:\n" + checks_yaml, env=env)
    async with Prober(redactor=cs.redactor, clock=FixedClock(T0), **prober_kw) as prober:
        return {spec.id: await prober.probe(spec) for spec in cs}


def trickle(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for _ in range(100):
        try:
            handler.wfile.write(b"x" * 10)
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.05)  # the server trickles; the test waits on nothing


def endless_chunks(handler):
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"y" * 65536
    try:
        for _ in range(80):  # 5 MiB without a Content-Length
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass


async def test_up_with_status_body_and_latency(tmp_path, serve):
    srv = serve({"/ready": Reply(200, {"ready": True, "drift_score": 0.12})})
    results = await run(
        tmp_path,
        f"""  - id: ok
    service: fraud-scoring
    url: {srv.url}/ready
    conditions: ["[STATUS] == 200", "[BODY].ready == true", "[BODY].drift_score < 0.3"]
""",
    )
    r = results["ok"]
    assert (r.state, r.error_class, r.message, r.status) == ("up", None, "ok", 200)
    assert r.latency_ms is not None and 0 <= r.latency_ms < 1000
    assert r.observed_at == T0
    assert r.service == "fraud-scoring"
    assert [(c.condition, c.success, c.observed) for c in r.conditions] == [
        ("[STATUS] == 200", True, 200),
        ("[BODY].ready == true", True, True),
        ("[BODY].drift_score < 0.3", True, 0.12),
    ]


async def test_connection_refused(tmp_path, refused_url):
    r = (await run(tmp_path, f"  - {{id: a, url: '{refused_url}/'}}\n"))["a"]
    port = refused_url.rsplit(":", 1)[1]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "connect",
        f"connection refused by 127.0.0.1:{port}",
    )
    assert r.latency_ms is None and r.status is None
    assert [c.to_json() for c in r.conditions] == [
        {
            "condition": "[STATUS] < 400",
            "level": "fail",
            "success": False,
            "observed": None,
            "message": f"not evaluated: connection refused by 127.0.0.1:{port}",
        }
    ]


async def test_a_server_that_never_answers_times_out(tmp_path, blackhole):
    started = time.monotonic()
    r = (await run(tmp_path, f"  - {{id: a, url: '{blackhole.url}/'}}\n"))["a"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "timeout",
        "no complete response within 0.4s",
    )
    assert time.monotonic() - started < 1.5


async def test_connect_timeout_is_its_own_limit(tmp_path, full_backlog):
    started = time.monotonic()
    r = (
        await run(
            tmp_path,
            f"  - {{id: a, url: '{full_backlog.url}/', timeout: {{connect: 0.2s, total: 0.6s}}}}\n",
        )
    )["a"]
    assert (r.error_class, r.message) == (
        "timeout",
        f"connect to 127.0.0.1:{full_backlog.port} timed out after 0.2s",
    )
    assert time.monotonic() - started < 0.55


async def test_a_body_that_trickles_in_hits_the_total_timeout(tmp_path, serve):
    srv = serve({"/slow": trickle})
    started = time.monotonic()
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/slow'}}\n"))["a"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "timeout",
        "no complete response within 0.4s",
    )
    assert time.monotonic() - started < 1.5


async def test_unresolvable_name_is_dns(tmp_path):
    r = (await run(tmp_path, "  - {id: a, url: 'http://x.invalid/health'}\n"))["a"]
    assert r.error_class == "dns"
    # with a resolver the name is unknown; in a sandbox without network it is EAI_AGAIN
    assert r.message in (
        "cannot resolve x.invalid: name or service not known",
        "cannot resolve x.invalid: temporary failure in name resolution (no network or DNS?)",
    )


def test_eai_again_counts_as_dns():
    err = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    try:
        raise ConnectionError("wrapped") from err
    except ConnectionError as exc:
        assert classify(exc, "http://models.internal:8000/") == (
            "dns",
            "cannot resolve models.internal: temporary failure in name resolution "
            "(no network or DNS?)",
        )


async def test_self_signed_certificate_is_tls_unless_insecure(tmp_path, serve, tls_server_context):
    srv = serve({"/ok": Reply(200, "fine")}, tls=tls_server_context)
    results = await run(
        tmp_path,
        f"""  - {{id: strict, url: '{srv.url}/ok'}}
  - {{id: lax, url: '{srv.url}/ok', insecure: true}}
  - {{id: cert, url: '{srv.url}/ok', insecure: true, conditions: ["[CERTIFICATE_EXPIRATION] > 48h"]}}
""",
    )
    strict = results["strict"]
    assert (strict.state, strict.error_class, strict.message) == (
        "down",
        "tls",
        "TLS certificate of 127.0.0.1 not trusted: unable to get local issuer certificate",
    )
    assert (results["lax"].state, results["lax"].error_class) == ("up", None)
    cert = results["cert"]
    assert cert.state == "up", cert.message
    assert cert.conditions[0].observed > 48 * 3600 * 1000


async def test_an_insecure_check_polled_first_does_not_relax_the_others(
    tmp_path, serve, tls_server_context
):
    srv = serve({"/ok": Reply(200, "fine")}, tls=tls_server_context)
    results = await run(
        tmp_path,
        f"""  - {{id: lax, url: '{srv.url}/ok', insecure: true}}
  - {{id: strict, url: '{srv.url}/ok'}}
""",
    )
    assert results["lax"].state == "up"
    assert (results["strict"].state, results["strict"].error_class) == ("down", "tls")


async def test_trusted_ca_from_ssl_cert_file(
    tmp_path, serve, tls_server_context, tls_ca, monkeypatch
):
    srv = serve({"/ok": Reply(200, "fine")}, tls=tls_server_context)
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/ok'}}\n"))["a"]
    assert (r.state, r.error_class) == ("up", None), r.message


async def test_500_is_http_status_with_the_reason_from_the_body(tmp_path, serve):
    srv = serve({"/ready": Reply(500, "model runner crashed")})
    r = (
        await run(
            tmp_path,
            f"  - {{id: a, url: '{srv.url}/ready', conditions: ['[STATUS] == 200']}}\n",
        )
    )["a"]
    assert (r.state, r.error_class, r.status, r.message) == (
        "down",
        "http_status",
        500,
        "[STATUS] = 500, expected == 200 (body: 'model runner crashed')",
    )
    assert r.latency_ms is not None


async def test_default_condition_fails_on_5xx(tmp_path, serve):
    srv = serve({"/x": Reply(503, "")})
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/x'}}\n"))["a"]
    assert (r.error_class, r.message) == ("http_status", "[STATUS] = 503, expected < 400")


async def test_invalid_json_under_body_is_body_parse(tmp_path, serve):
    srv = serve(
        {"/q": Reply(200, "<html>maintenance</html>", {"Content-Type": "application/json"})}
    )
    r = (
        await run(
            tmp_path,
            f"  - {{id: a, url: '{srv.url}/q', conditions: ['[STATUS] == 200', '[BODY].ok == true']}}\n",
        )
    )["a"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "body_parse",
        "[BODY] is not valid JSON (Expecting value)",
    )
    assert r.conditions[0].success and not r.conditions[1].success


async def test_a_5_mib_body_is_refused(tmp_path, serve):
    srv = serve({"/big": Reply(200, b"z" * (5 * 1024 * 1024)), "/chunked": endless_chunks})
    results = await run(
        tmp_path,
        f"  - {{id: big, url: '{srv.url}/big'}}\n  - {{id: chunked, url: '{srv.url}/chunked'}}\n",
    )
    assert (results["big"].error_class, results["big"].message) == (
        "body_too_large",
        "body of 5 MiB is larger than the 1 MiB limit",
    )
    assert (results["chunked"].error_class, results["chunked"].message) == (
        "body_too_large",
        "body is larger than the 1 MiB limit",
    )


async def test_a_redirect_loop_is_redirects(tmp_path, serve):
    srv = serve({"/loop": Reply(302, b"", {"Location": "/loop"})})
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/loop'}}\n"))["a"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "redirects",
        f"more than 5 redirects (a redirect loop?); last to {srv.url}/loop",
    )
    # the first request and five redirects; the first poll of a check that redirects also
    # sends its first hop straight to the transport before the client takes over
    assert srv.count("/loop") == 7


async def test_redirects_are_followed(tmp_path, serve):
    srv = serve({"/old": Reply(301, b"", {"Location": "/new"}), "/new": Reply(200, {"ok": True})})
    cs = load_ok(
        tmp_path, f"checks: [{{id: a, url: '{srv.url}/old', conditions: ['[BODY].ok == true']}}]\n"
    )
    async with Prober() as prober:
        first = await prober.probe(cs.specs["a"])
        second = await prober.probe(cs.specs["a"])
    assert (first.state, first.status, second.state, second.status) == ("up", 200, "up", 200)
    # the first poll learns that the check redirects; later polls send each hop once
    assert (srv.count("/old"), srv.count("/new")) == (3, 2)


async def test_decimals_and_warn_make_degraded(tmp_path, serve):
    srv = serve({"/dq": Reply(200, {"drift_score": 0.42, "null_rate": 0.004})})
    results = await run(
        tmp_path,
        f"""  - id: drift
    url: {srv.url}/dq
    conditions: ["[BODY].null_rate < 0.01"]
    warn: ["[BODY].drift_score < 0.3"]
""",
    )
    r = results["drift"]
    assert (r.state, r.error_class, r.message) == (
        "degraded",
        "condition",
        "[BODY].drift_score = 0.42, expected < 0.3",
    )
    assert [c.to_json() for c in r.conditions][1] == {
        "condition": "[BODY].drift_score < 0.3",
        "level": "warn",
        "success": False,
        "observed": 0.42,
        "message": "[BODY].drift_score = 0.42, expected < 0.3",
    }


async def test_method_headers_and_body_are_sent(tmp_path, serve):
    seen = {}

    def echo(handler):
        seen["method"] = handler.command
        seen["auth"] = handler.headers.get("Authorization")
        return Reply(200, {"ok": True})

    srv = serve({"/score": echo})
    r = (
        await run(
            tmp_path,
            f"""  - id: a
    url: {srv.url}/score
    method: post
    headers: {{Authorization: "Bearer ${{env:MODEL_TOKEN}}"}}
    body: '{{"inputs": [1, 2]}}'
""",
            env={"MODEL_TOKEN": "tok-7c1e2d"},
        )
    )["a"]
    assert r.state == "up"
    assert seen == {"method": "POST", "auth": "Bearer tok-7c1e2d"}


async def test_secrets_echoed_by_a_server_are_redacted(tmp_path, serve):
    def reject(handler):
        return Reply(401, f"bad token {handler.headers.get('Authorization')}")

    srv = serve({"/secure": reject})
    r = (
        await run(
            tmp_path,
            f"""  - id: a
    url: {srv.url}/secure
    headers: {{Authorization: "Bearer ${{env:MODEL_TOKEN}}"}}
    conditions: ["[STATUS] == 200", "[BODY] == pat(*accepted*)"]
""",
            env={"MODEL_TOKEN": "tok-7c1e2d"},
        )
    )["a"]
    assert r.message == (
        '[STATUS] = 401, expected == 200; [BODY] = "bad token Bearer ***", expected == pat(*accepted*) '
        "(body: 'bad token Bearer ***')"
    )
    assert r.conditions[1].observed == "bad token Bearer ***"


async def test_tcp_checks_connect_only(tmp_path, serve, refused_url):
    srv = serve({})
    port = refused_url.rsplit(":", 1)[1]
    results = await run(
        tmp_path,
        f"""  - {{id: open, kind: tcp, url: 'tcp://127.0.0.1:{srv.port}'}}
  - {{id: closed, kind: tcp, url: 'tcp://127.0.0.1:{port}'}}
""",
    )
    assert (results["open"].state, results["open"].conditions[0].observed) == ("up", True)
    assert srv.count() == 0  # no HTTP request was made
    assert (results["closed"].error_class, results["closed"].message) == (
        "connect",
        f"connection refused by 127.0.0.1:{port}",
    )


async def test_tcp_connect_timeout(tmp_path, full_backlog):
    started = time.monotonic()
    r = (
        await run(
            tmp_path,
            f"  - {{id: a, kind: tcp, url: 'tcp://127.0.0.1:{full_backlog.port}', "
            "timeout: {connect: 0.2s, total: 0.4s}}\n",
        )
    )["a"]
    assert time.monotonic() - started < 1.5
    assert (r.error_class, r.message) == (
        "timeout",
        f"connect to 127.0.0.1:{full_backlog.port} timed out after 0.2s",
    )


async def test_url_credentials_are_sent_as_basic_auth_and_never_shown(tmp_path, serve):
    seen = {}

    def guarded(handler):
        seen["auth"] = handler.headers.get("Authorization")
        return Reply(401, "denied")

    srv = serve({"/m": guarded})
    url = srv.url.replace("http://", "http://svc:${env:PASSWORD}@")
    results = await run(tmp_path, f"  - {{id: a, url: '{url}/m'}}\n", env={"PASSWORD": "pa55-w0rd"})
    assert seen["auth"] == "Basic c3ZjOnBhNTUtdzByZA=="  # svc:pa55-w0rd
    assert results["a"].message == "[STATUS] = 401, expected < 400 (body: 'denied')"


async def test_plain_http_checks_load_no_ca_bundle(tmp_path, serve, monkeypatch):
    """Loading the CA bundle costs tens of milliseconds before the first poll; plain http
    never uses it, so only an https check (or none) makes a verifying context."""
    from mlops_oncall.checks._httpx import httpx

    made = []
    real = httpx.create_ssl_context

    def spy(*args, **kwargs):
        made.append(kwargs.get("verify", args[0] if args else True))
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", spy)
    srv = serve({"/ok": Reply(200, "fine")})
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/ok'}}\n"))["a"]
    assert r.state == "up"
    assert True not in made, made
