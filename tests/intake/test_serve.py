"""`mlops-oncall serve` as a real process: the bind rules, the start-up and request lines, and a
graceful stop on SIGTERM with a request in flight."""

from __future__ import annotations

import http.server
import json
import socket
import sqlite3
import threading
import time
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
import pytest

from tests.intake.conftest import TOKEN
from tests.intake.daemon import Daemon


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text("name: intake\nintake:\n  token: ${env:INTAKE_TOKEN}\n")
    return ws


@pytest.fixture
def daemons():
    started: list[Daemon] = []

    def start(*args, **kw) -> Daemon:
        d = Daemon(*args, **kw)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def test_a_non_loopback_address_without_a_token_is_refused(tmp_path, daemons):
    d = daemons(tmp_path, "--listen", "0.0.0.0:0")
    assert d.wait() == 2
    assert len(d.lines) == 1
    assert d.lines[0].startswith("error: refusing to listen on 0.0.0.0 without a bearer token")


def test_a_token_variable_that_is_not_set_is_refused(workspace, daemons):
    d = daemons(workspace, "--listen", "0.0.0.0:0", env={"INTAKE_TOKEN": ""})
    assert d.wait() == 2
    assert d.lines == [
        "error: intake.token in oncall.yaml uses ${env:INTAKE_TOKEN}, which is not set"
    ]


def test_a_token_in_clear_in_the_workspace_is_a_located_error(tmp_path, daemons):
    (tmp_path / "oncall.yaml").write_text("intake:\n  token: hunter2hunter2\n")
    d = daemons(tmp_path)
    assert d.wait() == 2
    assert "hunter2" not in "\n".join(d.lines)
    assert any("oncall.yaml:2" in line and "intake.token" in line for line in d.lines), d.lines


def test_bad_listen_is_a_usage_error(tmp_path, daemons):
    d = daemons(tmp_path, "--listen", "127.0.0.1")
    assert d.wait() == 2
    assert d.lines == [
        "error: --listen '127.0.0.1': expected HOST:PORT, e.g. 127.0.0.1:9417 or 0.0.0.0:9417"
    ]


def test_serves_with_a_token_logs_each_request_and_stops_on_sigterm(workspace, daemons):
    d = daemons(workspace, "--listen", "0.0.0.0:0", env={"INTAKE_TOKEN": TOKEN})
    url = d.url().replace("0.0.0.0", "127.0.0.1")
    start = d.wait_for("listening on").string
    assert "bearer token required" in start and f"database {workspace / 'oncall.db'}" in start
    with httpx.Client(base_url=url) as client:
        assert client.get("/healthz").text == "ok\n"
        assert client.post("/changes", json={"service": "a", "version": "1"}).status_code == 401
        r = client.post(
            "/changes?token=" + TOKEN,
            json={"service": "ranker", "version": "v2"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 201
    d.wait_for(r"POST /changes 201 ")
    d.terminate()
    assert d.wait() == 0
    assert d.lines[-1] == "mlops-oncall serve: stopped"
    text = "\n".join(d.lines)
    assert TOKEN not in text and "ranker" not in text  # no token, no body
    assert "GET /healthz 200" in text and "POST /changes 401" in text


def test_sigterm_lets_the_request_in_flight_finish(tmp_path, daemons, cli_proc):
    """A request whose store write is under way when SIGTERM comes is answered 201, then the
    daemon exits 0. The write is held for real: another connection holds SQLite's write lock
    (the daemon waits for it, as for a teammate's write)."""
    (tmp_path / "oncall.yaml").write_text("name: intake\n")  # its database: ./oncall.db
    d = daemons(tmp_path, "--listen", "127.0.0.1:0")
    split = urlsplit(d.url())
    assert (tmp_path / "oncall.db").exists()
    body = json.dumps({"service": "ranker", "version": "v9"})
    request = (
        f"POST /changes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    )
    lock = sqlite3.connect(tmp_path / "oncall.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        with socket.create_connection((split.hostname, split.port), timeout=30) as sock:
            sock.sendall(request.encode())  # one segment: the body arrives with the headers
            _until_received(d.url(), "/changes", 1)  # the handler is waiting for the lock
            d.terminate()
            d.wait_for("stopping; finishing the requests in flight")
            with pytest.raises(OSError):  # no longer accepting
                socket.create_connection((split.hostname, split.port), timeout=5).close()
            lock.execute("ROLLBACK")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
    finally:
        lock.close()
    assert reply.startswith(b"HTTP/1.1 201 "), reply
    assert d.wait() == 0
    assert d.lines[-1] == "mlops-oncall serve: stopped"
    db = {"MLOPS_ONCALL_DATABASE": str(tmp_path / "oncall.db")}
    listed = cli_proc("deploy", "list", "--json", env=db)
    assert [(x["service"], x["version"]) for x in listed.json()] == [("ranker", "v9")]


def _until_received(url: str, endpoint: str, count: int, timeout: float = 30) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = httpx.get(f"{url}/metrics").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (
                    sample.name == "mlops_oncall_intake_received_total"
                    and sample.labels == {"endpoint": endpoint}
                    and sample.value >= count
                ):
                    return
        time.sleep(0.02)
    raise AssertionError(f"{endpoint} never received {count} request(s)")


class _Registry(http.server.BaseHTTPRequestHandler):
    """Answers every request 503 as a registry that is down, keeping the paths asked for."""

    paths: ClassVar[list[str]] = []

    def do_GET(self):
        self.paths.append(self.path)
        body = b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_change_sources_poll_while_serving_and_stop_with_it(tmp_path, daemons):
    """changes: in the workspace is polled by the daemon (changes/runner.py); a registry that is
    down is one logged line and a retry, never the daemon's end; SIGTERM cancels the poller."""
    _Registry.paths = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "oncall.yaml").write_text(
            "name: intake\nchanges:\n  mlflow:\n"
            f"    url: http://127.0.0.1:{server.server_port}\n"
            "    interval: 1s\n    models: {fraud: fraud-api}\n"
        )
        d = daemons(tmp_path, "--listen", "127.0.0.1:0")
        d.url()
        d.wait_for(r"^changes: mlflow: fraud: .* answered 503")
        assert _Registry.paths and _Registry.paths[0].startswith("/api/2.0/mlflow/")
        assert httpx.get(f"{d.url()}/healthz").status_code == 200  # still serving
        d.terminate()
        assert d.wait() == 0
        assert d.lines[-1] == "mlops-oncall serve: stopped"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("listen", "host", "port", "loopback"),
    [
        ("127.0.0.1:9417", "127.0.0.1", 9417, True),
        ("[::1]:9417", "::1", 9417, True),
        ("localhost:0", "localhost", 0, True),
        ("127.8.9.10:80", "127.8.9.10", 80, True),
        ("0.0.0.0:9417", "0.0.0.0", 9417, False),
        ("[::]:9417", "::", 9417, False),
        ("oncall.internal:9417", "oncall.internal", 9417, False),
    ],
)
def test_listen_addresses(listen, host, port, loopback):
    from mlops_oncall.intake.server import is_loopback, parse_listen

    assert parse_listen(listen) == (host, port)
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("listen", ["", ":9417", "127.0.0.1:", "127.0.0.1:65536", "host:x"])
def test_bad_listen_addresses(listen):
    from mlops_oncall.intake.server import parse_listen

    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_listen(listen)
