"""Fixtures for the checks tests: servers started per test on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.checks.servers import Blackhole, FullBacklog, HTTPTestServer, free_port


@pytest.fixture
def serve():
    """serve(routes, tls=None) -> a started HTTPTestServer, stopped after the test."""
    started: list[HTTPTestServer] = []

    def start(routes, tls=None) -> HTTPTestServer:
        srv = HTTPTestServer(routes, tls).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def blackhole():
    hole = Blackhole()
    yield hole
    hole.stop()


@pytest.fixture
def full_backlog():
    listener = FullBacklog()
    yield listener
    listener.close()


@pytest.fixture
def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def tls_ca():
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_server_context(tls_ca):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx
