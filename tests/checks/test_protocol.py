"""Misbehaving servers on raw sockets: what a probe says happened, through the probe transport.

A response that breaks HTTP/1.1 (oversized headers, a bad status line, header or chunk,
conflicting lengths) is ``protocol``; a server that hangs up is ``connect``; a failure after a
redirect names the host that failed."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.checks.servers import Reply, free_port
from tests.checks.test_probe import run


class CannedServer:
    """Answers every connection with the same bytes, then closes it."""

    def __init__(self, reply: bytes):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    @property
    def where(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                conn.settimeout(2)
                conn.recv(65536)
                conn.sendall(self.reply)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


OK_END = b"Content-Length: 2\r\n\r\nok"
MALFORMED = {
    # headers over aiohttp's limits (8190-byte lines, 32,768 bytes of fields)
    "huge_header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n" + OK_END,
    "many_headers": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-H%d: v\r\n" % i for i in range(20_000))
    + OK_END,
    "bad_status": b"HTTP/1.1 2x0 OK\r\n" + OK_END,
    "not_http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "bad_header": b"HTTP/1.1 200 OK\r\nno colon here\r\n" + OK_END,
    "two_lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "bad_chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
    "chunk_overrun": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX\r\n0\r\n\r\n",
}


@pytest.fixture
def canned():
    started: list[CannedServer] = []

    def start(reply: bytes) -> CannedServer:
        srv = CannedServer(reply)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


async def test_framing_violations_and_oversized_headers_are_protocol(tmp_path, canned):
    servers = {name: canned(reply) for name, reply in MALFORMED.items()}
    checks = "".join(f"  - {{id: {n}, url: '{s.url}/health'}}\n" for n, s in servers.items())
    results = await run(tmp_path, checks)
    for name, srv in servers.items():
        r = results[name]
        assert (r.state, r.error_class) == ("down", "protocol"), (name, r.message)
        assert r.message.startswith(f"{srv.where} sent a malformed HTTP response: "), r.message


async def test_hanging_up_is_still_connect(tmp_path, canned):
    nothing = canned(b"")
    cut = canned(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nok")
    results = await run(
        tmp_path,
        f"  - {{id: nothing, url: '{nothing.url}/'}}\n  - {{id: cut, url: '{cut.url}/'}}\n",
    )
    assert (results["nothing"].error_class, results["nothing"].message) == (
        "connect",
        f"{nothing.where} closed the connection without a complete response",
    )
    assert results["cut"].error_class == "connect"
    assert cut.where in results["cut"].message


async def test_a_redirect_to_a_refusing_host_names_that_host(tmp_path, serve):
    port = free_port()
    srv = serve({"/old": Reply(302, b"", {"Location": f"http://127.0.0.1:{port}/new"})})
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/old'}}\n"))["a"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "connect",
        f"connection refused by 127.0.0.1:{port} (redirected from 127.0.0.1:{srv.port})",
    )


async def test_a_redirect_to_a_malformed_server_is_protocol_there(tmp_path, serve, canned):
    bad = canned(MALFORMED["bad_status"])
    srv = serve({"/old": Reply(302, b"", {"Location": f"{bad.url}/new"})})
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/old'}}\n"))["a"]
    assert r.error_class == "protocol"
    assert r.message.startswith(f"{bad.where} sent a malformed HTTP response: ")
    assert r.message.endswith(f"(redirected from 127.0.0.1:{srv.port})")


def test_a_checks_path_that_is_a_directory_says_so(tmp_path, cli):
    (tmp_path / "conf").mkdir()
    for verb in ("run", "validate", "watch"):
        r = cli("check", verb, "--checks", tmp_path / "conf")
        assert r.code == 2, (verb, r.err)
        assert r.err.strip().splitlines() == [
            f"error: checks file is a directory: {tmp_path / 'conf'} (name the YAML file in it, "
            f"such as {tmp_path / 'conf' / 'checks.yaml'})"
        ], verb


def test_a_workspace_checks_path_that_is_a_directory_says_so(tmp_path, cli):
    (tmp_path / "checks").mkdir()
    (tmp_path / "oncall.yaml").write_text("checks: checks\n")
    r = cli("check", "run")
    assert r.code == 2
    assert "checks file is a directory" in r.err
