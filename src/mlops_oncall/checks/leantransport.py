"""An httpx transport for plain-http probes over asyncio streams: HTTP/1.1 with keep-alive.

httpx's own transport imports httpcore, h11 and anyio at its first request: about 60 ms of
CPU on the path from `mlops-oncall demo` to its first check states, for nine requests to
127.0.0.1. This one speaks what a health probe needs of plain HTTP/1.1 and nothing more:
a request written in one go, a status line and headers, a body by Content-Length, chunks or
the connection's end, capped at the probe's limit. https stays with httpx's transport (the
dispatcher in ``transport`` only sends plain http here). Like the aiohttp transport it hands
httpx a finished body and raises httpx's exceptions with the OS error as the cause, so the
probe classifies failures the same way through every transport.
"""

from __future__ import annotations

import asyncio
import time

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.transport import (
    PREPARED,
    BodyTooLarge,
    ProtocolViolation,
    finished_response,
    unsafe_head,
)

MAX_HEAD = 64 * 1024  # status line and headers
CHUNK = 64 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
NO_BODY = frozenset({204, 304})


class _Closed(Exception):
    """The server closed the connection before any byte of a response. On a kept-alive one
    it had timed the connection out while idle, and a GET may go again on a new one."""


class _Conn:
    __slots__ = ("expires", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.expires = 0.0

    def usable(self) -> bool:
        return (
            time.monotonic() < self.expires
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.close()


class LeanProbeTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, limits: httpx.Limits, max_body: int):
        self.max_body = max_body
        self.keepalive = limits.keepalive_expiry or 0.0
        self.max_connections = limits.max_connections or 1024
        self._slots: asyncio.Semaphore | None = None  # made inside the running loop
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(
                f"the lean transport speaks plain http only: {request.url}"
            )
        stream = request.stream
        body = (
            b"".join(stream) if isinstance(stream, httpx.SyncByteStream) else await request.aread()
        )
        host, port, head = self._head(request, body)
        timeout = request.extensions.get("timeout", {})
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        async with self._slots:
            conn = self._reuse(host, port)
            # once, on a new connection; not a POST, which the server may have acted on
            resend = conn is not None and request.method in IDEMPOTENT
            while True:
                if conn is None:
                    conn = await self._connect(host, port, timeout.get("connect"), request)
                try:
                    return await self._exchange(conn, (host, port), request, head, body, timeout)
                except _Closed as closed:
                    if not resend:
                        raise httpx.RemoteProtocolError(
                            "Server disconnected without sending a response.", request=request
                        ) from closed.__cause__
                conn, resend = None, False

    def _head(self, request: httpx.Request, body: bytes) -> tuple[str, int, bytes]:
        """Host, port and the request's head in bytes, cached in the check's PREPARED slot:
        the same on every poll of a check (a redirect's request is built anew)."""
        slot = request.extensions.get(PREPARED)
        if slot:
            cached = slot.get("lean")
            if cached and cached[0] is request.url and cached[1] is request.headers:
                return cached[2]
        refused = unsafe_head(request)
        if refused:  # httpx's and aiohttp's own writers refuse these too; this one writes raw
            raise httpx.LocalProtocolError(f"request not sent: {refused}", request=request)
        url = request.url
        lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), url.raw_path)]
        length_given = False
        for name, value in request.headers.raw:
            lowered = name.lower()
            if lowered == b"transfer-encoding":
                continue  # the whole body is in hand: it goes with a Content-Length
            length_given = length_given or lowered == b"content-length"
            lines.append(name + b": " + value)
        if body and not length_given:
            lines.append(b"Content-Length: %d" % len(body))
        head = (url.host, url.port or 80, b"\r\n".join(lines) + b"\r\n\r\n")
        if slot is not None:  # the check's own request: its body never changes
            slot["lean"] = (request.url, request.headers, head)
        return head

    def _reuse(self, host: str, port: int) -> _Conn | None:
        idle = self._idle.get((host, port))
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    async def _connect(
        self, host: str, port: int, limit: float | None, request: httpx.Request
    ) -> _Conn:
        try:
            async with asyncio.timeout(limit):
                reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"connect to {host}:{port} timed out", request=request
            ) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return _Conn(reader, writer)

    async def _exchange(
        self,
        conn: _Conn,
        key: tuple[str, int],
        request: httpx.Request,
        head: bytes,
        body: bytes,
        timeout: dict,
    ) -> httpx.Response:
        keep = False
        try:
            async with asyncio.timeout(timeout.get("read")):
                try:
                    conn.writer.write(head + body)
                    await conn.writer.drain()
                except ConnectionError as exc:
                    raise _Closed from exc
                status, reason, headers, keep = await self._read_head(conn, request)
                content, keep = await self._read_body(conn, request, status, headers, keep)
        except (_Closed, BodyTooLarge, httpx.HTTPError):
            conn.close()
            raise
        except TimeoutError as exc:
            conn.close()
            raise httpx.ReadTimeout("timed out reading the response", request=request) from exc
        except asyncio.IncompleteReadError as exc:
            conn.close()
            raise httpx.ReadError("the response was cut off", request=request) from exc
        except asyncio.LimitOverrunError as exc:
            conn.close()
            raise ProtocolViolation(
                f"a line of the response runs over {MAX_HEAD // 1024} KiB", request=request
            ) from exc
        except OSError as exc:
            conn.close()
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        except BaseException:
            conn.close()  # cancelled mid-response: the socket is in an unknown state
            raise
        if keep and self.keepalive > 0:
            conn.expires = time.monotonic() + self.keepalive
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.close()
        return finished_response(status, headers, content, request, reason, self.max_body)

    async def _read_head(
        self, conn: _Conn, request: httpx.Request
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], bool]:
        reader = conn.reader
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise _Closed from exc
                raise httpx.ReadError("the response was cut off", request=request) from exc
            except asyncio.LimitOverrunError as exc:
                raise ProtocolViolation(
                    f"response headers over {MAX_HEAD // 1024} KiB", request=request
                ) from exc
            except ConnectionResetError as exc:
                raise _Closed from exc
            lines = raw[:-4].split(b"\r\n")
            version, _, rest = lines[0].partition(b" ")
            code, _, reason = rest.partition(b" ")
            if not version.startswith(b"HTTP/1.") or not code.isdigit() or len(code) != 3:
                raise ProtocolViolation(
                    f"not an HTTP/1.x status line: {lines[0][:80]!r}", request=request
                )
            status = int(code)
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(b":")
                if not sep or not name or name != name.strip():
                    raise ProtocolViolation(
                        f"malformed response header: {line[:80]!r}", request=request
                    )
                headers.append((name, value.strip()))
            if 100 <= status < 200:
                continue  # an interim response (100 Continue): the real one follows
            keep = version == b"HTTP/1.1"
            for name, value in headers:
                if name.lower() == b"connection":
                    tokens = value.lower()
                    if b"close" in tokens:
                        keep = False
                    elif b"keep-alive" in tokens:
                        keep = True
            return status, reason, headers, keep

    async def _read_body(
        self,
        conn: _Conn,
        request: httpx.Request,
        status: int,
        headers: list[tuple[bytes, bytes]],
        keep: bool,
    ) -> tuple[bytes, bool]:
        if request.method == "HEAD" or status in NO_BODY:
            return b"", keep
        length = None
        chunked = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"transfer-encoding":
                chunked = chunked or b"chunked" in value.lower()
            elif lowered == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise ProtocolViolation(f"bad Content-Length: {value[:40]!r}", request=request)
                length = int(value)
        reader = conn.reader
        if chunked:
            return await self._read_chunks(reader, request), keep
        if length is not None:
            if length > self.max_body:
                raise BodyTooLarge(length, self.max_body)
            return await reader.readexactly(length), keep
        # no framing: the body runs to the end of the connection
        chunks: list[bytes] = []
        size = 0
        while chunk := await reader.read(CHUNK):
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge(None, self.max_body)
            chunks.append(chunk)
        return b"".join(chunks), False

    async def _read_chunks(self, reader: asyncio.StreamReader, request: httpx.Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            digits = line.split(b";", 1)[0].strip()
            try:
                n = int(digits, 16)
            except ValueError:
                raise ProtocolViolation(f"bad chunk size: {line[:40]!r}", request=request) from None
            if n == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers, unused
                return b"".join(chunks)
            size += n
            if size > self.max_body:
                raise BodyTooLarge(None, self.max_body)
            chunks.append(await reader.readexactly(n))
            if await reader.readexactly(2) != b"\r\n":
                raise ProtocolViolation("a chunk overran its size", request=request)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
