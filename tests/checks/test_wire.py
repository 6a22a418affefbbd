"""HTTP/1.1 at the wire, through the public probe: scripted raw responses from a real server
on 127.0.0.1 (keep-alive, framing, interim responses, the body cap however a body is framed).
Malformed responses are in test_protocol.py, compressed ones in test_bombs.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from mlops_oncall.checks.probe import Prober
from tests.checks.helpers import load_ok


class RawServer:
    """Answers each request with the next scripted reply; ``None`` closes without answering."""

    def __init__(self, replies, *, per_connection: bool = False):
        self.replies = list(replies)
        self.per_connection = per_connection
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        replies = list(self.replies) if self.per_connection else self.replies
        try:
            while replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                reply = replies.pop(0)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def poll(tmp_path, url: str, times: int = 1, extra: str = "", **prober_kw):
    """The results of polling one check ``times`` times with one prober (one pool)."""
    cs = load_ok(tmp_path, f"checks:\n  - {{id: a, url: '{url}/h'{extra}}}\n")
    async with Prober(**prober_kw) as prober:
        return [await prober.probe(cs.specs["a"]) for _ in range(times)]


def body_is(text: str) -> str:
    return f", conditions: ['[STATUS] < 300', '[BODY] == {text}']"


async def test_one_connection_serves_poll_after_poll(tmp_path):
    async with RawServer([ok(b"a"), ok(b"a"), ok(b"a")]) as srv:
        results = await poll(tmp_path, srv.url, 3, body_is("a"))
    assert [r.state for r in results] == ["up"] * 3, [r.message for r in results]
    assert srv.connections == 1
    assert srv.requests[0].startswith(b"GET /h HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in srv.requests[0]


async def test_a_post_sends_its_body_with_a_length(tmp_path):
    async with RawServer([ok(b"done")]) as srv:
        (r,) = await poll(tmp_path, srv.url, 1, ", method: POST, body: '{}'")
    assert r.state == "up", r.message
    assert srv.requests[0].startswith(b"POST /h HTTP/1.1\r\n")
    assert b"Content-Length: 2\r\n" in srv.requests[0] and srv.requests[0].endswith(b"{}")


async def test_chunked_body_with_extensions_and_trailers(tmp_path):
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;name=x\r\nheal\r\n6\r\nthy!!!\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    async with RawServer([reply, reply]) as srv:
        results = await poll(tmp_path, srv.url, 2, body_is("healthy!!!"))
    assert [r.state for r in results] == ["up", "up"], [r.message for r in results]
    assert srv.connections == 1  # the connection stayed usable


async def test_a_body_without_framing_runs_to_the_connection_end(tmp_path):
    async with RawServer([b"HTTP/1.0 200 OK\r\n\r\nall of it"], per_connection=True) as srv:
        results = await poll(tmp_path, srv.url, 2, body_is("all of it"))
    assert [r.state for r in results] == ["up", "up"], [r.message for r in results]
    assert srv.connections == 2  # never reused


async def test_interim_responses_are_skipped_and_204_has_no_body(tmp_path):
    replies = [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"]
    async with RawServer(replies) as srv:
        (r,) = await poll(tmp_path, srv.url, 1, ", conditions: ['[STATUS] == 204']")
    assert (r.state, r.status) == ("up", 204), r.message


async def test_connection_close_is_honoured(tmp_path):
    async with RawServer([ok(b"x", b"Connection: close\r\n")], per_connection=True) as srv:
        results = await poll(tmp_path, srv.url, 2)
    assert [r.state for r in results] == ["up", "up"], [r.message for r in results]
    assert srv.connections == 2


async def test_a_body_cut_off_is_connect(tmp_path):
    async with RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]) as srv:
        (r,) = await poll(tmp_path, srv.url)
    assert r.error_class == "connect"
    assert "cut off" in r.message or "without a complete response" in r.message, r.message


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", "body of 5 KiB is larger"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + b"x" * 2000, "body is"),
        (b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 2000, "body is"),
    ],
)
async def test_bodies_over_the_cap_are_refused_however_framed(tmp_path, reply, message):
    async with RawServer([reply, None]) as srv:
        (r,) = await poll(tmp_path, srv.url, max_body=1000)
    assert r.error_class == "body_too_large"
    assert r.message.startswith(message) and r.message.endswith("larger than the 1000 B limit")


def test_the_transport_is_imported_before_a_probe_starts_its_clock():
    """The first poll's latency must not include aiohttp's import (100-200 ms): a check with
    ``[RESPONSE_TIME] < 250`` failed its first poll in the demo that way. The prober builds
    the transport, and imports aiohttp, when it prepares a request, before timing it."""
    script = """
import asyncio, sys
from mlops_oncall.checks.probe import Prober

async def main():
    async with Prober() as prober:
        assert "aiohttp" not in sys.modules
        prober.client  # what preparing a check's request does first
        print("aiohttp" in sys.modules)

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "True", done.stderr[-2000:]
