"""[CERTIFICATE_EXPIRATION] beyond https: tcp checks with tls://host:port (Gatus's tls:// endpoints)
and grpcs:// checks, with trustme certificates, one expiring within the threshold."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.checks.probe import Prober
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_errors, load_ok
from tests.checks.servers import HTTPTestServer

trustme = pytest.importorskip("trustme")
NOW = datetime.now(UTC)  # certificates are checked against the real clock by the handshake


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def _context(cert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def tls_servers(ca):
    """Two TLS endpoints on 127.0.0.1: one certificate for a year, one for five more days."""
    year = ca.issue_cert("127.0.0.1", "localhost", not_after=NOW + timedelta(days=365))
    soon = ca.issue_cert("127.0.0.1", "localhost", not_after=NOW + timedelta(days=5))
    servers = [HTTPTestServer({}, _context(c)).start() for c in (year, soon)]
    yield servers
    for srv in servers:
        srv.stop()


@pytest.fixture
def ca_file(ca, tmp_path, monkeypatch):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return path


async def probe_all(tmp_path, checks_yaml: str):
    cs = load_ok(tmp_path, "defaults: {timeout: 2s}\nchecks:\n" + checks_yaml)
    async with Prober(redactor=cs.redactor, clock=FixedClock(NOW)) as prober:
        return {spec.id: await prober.probe(spec) for spec in cs}


async def test_tls_tcp_check_reads_the_certificate_expiry(tmp_path, tls_servers, ca_file):
    year, soon = tls_servers
    cond = "conditions: ['[CONNECTED] == true', '[CERTIFICATE_EXPIRATION] > 240h']"
    r = await probe_all(
        tmp_path,
        f"  - {{id: year, kind: tcp, url: 'tls://localhost:{year.port}', {cond}}}\n"
        f"  - {{id: soon, kind: tcp, url: 'tls://localhost:{soon.port}', {cond}}}\n",
    )
    assert (r["year"].state, r["year"].message) == ("up", "ok")
    left = r["year"].conditions[1].observed
    assert 364 * 86_400_000 < left <= 365 * 86_400_000  # ms, to the second of not_after
    assert (r["soon"].state, r["soon"].error_class) == ("down", "condition")
    assert r["soon"].message.startswith("[CERTIFICATE_EXPIRATION] = ")
    assert 4 * 86_400_000 < r["soon"].conditions[1].observed <= 5 * 86_400_000  # 5 days, in ms
    assert r["soon"].message.endswith("expected > 240h")


async def test_tls_tcp_check_verifies_unless_insecure(tmp_path, tls_servers):
    year, _ = tls_servers  # no SSL_CERT_FILE: the test CA is not trusted
    r = await probe_all(
        tmp_path,
        f"  - {{id: strict, kind: tcp, url: 'tls://localhost:{year.port}'}}\n"
        f"  - {{id: lax, kind: tcp, url: 'tls://localhost:{year.port}', insecure: true, "
        "conditions: ['[CERTIFICATE_EXPIRATION] > 240h']}\n",
    )
    assert (r["strict"].state, r["strict"].error_class) == ("down", "tls")
    assert r["strict"].message.startswith("TLS certificate of localhost not trusted")
    assert r["lax"].state == "up"  # the expiry is read from the certificate itself


async def test_plain_tcp_to_a_tls_port_only_connects(tmp_path, tls_servers):
    year, _ = tls_servers
    r = await probe_all(tmp_path, f"  - {{id: t, kind: tcp, url: 'tcp://127.0.0.1:{year.port}'}}\n")
    assert r["t"].state == "up"


async def test_grpcs_certificate_expiry(tmp_path, ca, ca_file):
    grpc = pytest.importorskip("grpc", reason="pip install -e '.[test]' (grpcio)")
    from tests.checks.grpcservers import GrpcHealthServer

    soon = ca.issue_cert("localhost", not_after=NOW + timedelta(days=5))
    creds = grpc.ssl_server_credentials(
        [(soon.private_key_pem.bytes(), soon.cert_chain_pems[0].bytes())]
    )
    srv = GrpcHealthServer(creds)
    try:
        r = await probe_all(
            tmp_path,
            f"  - {{id: g, kind: grpc, url: 'grpcs://localhost:{srv.port}', "
            "conditions: ['[CERTIFICATE_EXPIRATION] > 240h'], warn: ['[CERTIFICATE_EXPIRATION] > 1h']}\n",
        )
    finally:
        srv.stop()
    assert (r["g"].state, r["g"].error_class) == ("down", "condition")
    assert [c.success for c in r["g"].conditions] == [True, False, True]  # serving; 240h; 1h


def test_certificate_on_a_plain_url_is_a_located_error(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, kind: tcp, url: 'tcp://h:1', conditions: ['[CERTIFICATE_EXPIRATION] > 1h']}
          - {id: b, kind: grpc, url: 'grpc://h:1', conditions: ['[CERTIFICATE_EXPIRATION] > 1h']}
          - {id: c, kind: tcp, url: 'tls://h:1', conditions: ['[STATUS] == 200']}
        """,
    )
    text = "\n".join(errors)
    assert "checks[0].conditions[0]: a tcp:// check has no certificate; use tls://" in text
    assert "checks[1].conditions[0]: a grpc:// check has no certificate; use grpcs://" in text
    assert "checks[2].conditions[0]: a tcp check has no HTTP response" in text
