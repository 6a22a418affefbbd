"""The lean plain-http transport at the wire: raw responses from a real server on 127.0.0.1.

The probe behaviour it shares with the other transports is in test_probe.py (run through
each); these are the HTTP/1.1 details only it implements."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest

from mlops_oncall.checks.leantransport import LeanProbeTransport
from mlops_oncall.checks.transport import BodyTooLarge


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


@pytest.fixture
async def lean():
    t = LeanProbeTransport(
        limits=httpx.Limits(max_connections=8, keepalive_expiry=15), max_body=1000
    )
    yield t
    await t.aclose()


async def get(t: LeanProbeTransport, url: str, method: str = "GET", body: bytes = b""):
    return await t.handle_async_request(httpx.Request(method, url, content=body))


async def test_one_connection_serves_poll_after_poll(lean):
    async with RawServer([ok(b"a"), ok(b"b"), ok(b"c")]) as srv:
        bodies = [(await get(lean, srv.url + "/h")).content for _ in range(3)]
    assert bodies == [b"a", b"b", b"c"]
    assert srv.connections == 1
    assert srv.requests[0].startswith(b"GET /h HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in srv.requests[0]


async def test_a_get_is_resent_once_when_a_reused_connection_was_dropped(lean):
    # each connection answers one request, then closes on the next without a word
    async with RawServer([ok(b"first"), None], per_connection=True) as srv:
        assert (await get(lean, srv.url)).content == b"first"
        assert (await get(lean, srv.url)).content == b"first"  # on a new connection
    assert srv.connections == 2


async def test_a_post_is_never_resent(lean):
    async with RawServer([ok(b"first"), None], per_connection=True) as srv:
        await get(lean, srv.url, "POST", b"{}")
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected without"):
            await get(lean, srv.url, "POST", b"{}")
    assert srv.connections == 1
    assert srv.requests[0].endswith(b"Content-Length: 2\r\n\r\n{}")


async def test_chunked_body_with_extensions_and_trailers(lean):
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;name=x\r\nheal\r\n6\r\nthy!!!\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    async with RawServer([reply, ok(b"next")]) as srv:
        assert (await get(lean, srv.url)).content == b"healthy!!!"
        assert (await get(lean, srv.url)).content == b"next"  # the connection stayed usable
    assert srv.connections == 1


async def test_a_body_without_framing_runs_to_the_connection_end(lean):
    async with RawServer([b"HTTP/1.0 200 OK\r\n\r\nall of it"], per_connection=True) as srv:
        assert (await get(lean, srv.url)).content == b"all of it"
        assert (await get(lean, srv.url)).content == b"all of it"
    assert srv.connections == 2  # never reused


async def test_gzip_is_decoded(lean):
    packed = gzip.compress(b'{"ready": true}')
    async with RawServer([ok(packed, b"Content-Encoding: gzip\r\n")]) as srv:
        assert (await get(lean, srv.url)).json() == {"ready": True}


async def test_interim_responses_are_skipped_and_204_has_no_body(lean):
    replies = [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", ok(b"after")]
    async with RawServer(replies) as srv:
        r = await get(lean, srv.url)
        assert (r.status_code, r.content, r.reason_phrase) == (204, b"", "No Content")
        assert (await get(lean, srv.url)).content == b"after"


async def test_connection_close_is_honoured(lean):
    async with RawServer([ok(b"x", b"Connection: close\r\n")], per_connection=True) as srv:
        await get(lean, srv.url)
        await get(lean, srv.url)
    assert srv.connections == 2


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed response header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 70_000, "runs over"),
        (b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * 70_000 + b"\r\n\r\n", "headers over"),
    ],
)
async def test_protocol_errors_say_what_was_wrong(lean, reply, message):
    async with RawServer([reply]) as srv:
        with pytest.raises(httpx.RemoteProtocolError, match=message):
            await get(lean, srv.url)


async def test_a_body_cut_off_is_a_read_error(lean):
    async with RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]) as srv:
        with pytest.raises(httpx.ReadError, match="cut off"):
            await get(lean, srv.url)


@pytest.mark.parametrize(
    ("reply", "declared"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", 5000),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + b"x" * 2000, None),
        (b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 2000, None),
    ],
)
async def test_bodies_over_the_cap_are_refused_however_framed(lean, reply, declared):
    async with RawServer([reply, None]) as srv:
        with pytest.raises(BodyTooLarge) as caught:
            await get(lean, srv.url)
    assert caught.value.declared == declared


async def test_https_is_not_its_business(lean):
    with pytest.raises(httpx.UnsupportedProtocol, match="plain http only"):
        await get(lean, "https://127.0.0.1:1/")
