"""The probes' one httpx transport: over one aiohttp session, for plain http and https.

Compared with the general-purpose ``httpx-aiohttp`` transport it reads the body inside the
transport, capped, and hands httpx a finished response decoded with a bound: httpx then skips
its chain of async generators per body, which was a fifth of a poll's CPU. It also verifies
TLS per request (``insecure`` checks share the pool), reads the peer certificate's expiry
while the connection is still the response's, keeps no cookies, never sends an empty GET as
chunked, and re-raises aiohttp's errors as httpx's with the original error as the cause, so
the probe classifies them (``protocol`` for a response aiohttp's parser refused).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.decode import BodyDecodeError
from mlops_oncall.checks.tlsinfo import ssl_object_expiry
from mlops_oncall.checks.transport import (
    CERTIFICATE,
    EXPIRY,
    INSECURE,
    PREPARED,
    BodyTooLarge,
    ProtocolViolation,
    finished_response,
)

if TYPE_CHECKING:
    import aiohttp

CHUNK = 64 * 1024


class AiohttpProbeTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, *, ssl_context: Callable[[], ssl.SSLContext], limits: httpx.Limits, max_body: int
    ):
        # built at the first https request: loading the CA bundle costs tens of milliseconds,
        # which a workspace of plain-http checks should not pay before its first poll
        self._make_ssl = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self.limits = limits
        self.max_body = max_body
        self._session: aiohttp.ClientSession | None = None

    def open(self) -> None:
        """Import aiohttp and make the session now, inside the running loop: the prober calls
        this before its first probe starts the clock, so no latency includes the import."""
        self._get_session()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:  # created on first use, inside the running loop
            import aiohttp  # imported at the first poll, not before the first frame

            connector = aiohttp.TCPConnector(
                limit=self.limits.max_connections or 0,
                keepalive_timeout=self.limits.keepalive_expiry,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # decoded by ``finished_response``, bounded
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    def _ssl_for(self, request: httpx.Request) -> ssl.SSLContext | bool:
        if request.extensions.get(INSECURE):
            return False
        if request.url.scheme != "https":
            return True  # aiohttp's default; plain http never reads it
        if self._ssl is None:
            self._ssl = self._make_ssl()
        return self._ssl

    def _args(self, request: httpx.Request) -> tuple[Any, list[tuple[str, str]], Any]:
        """URL, headers and timeout in aiohttp's terms, cached in the check's PREPARED slot:
        they are the same on every poll of a check, and converting them is not free."""
        slot = request.extensions.get(PREPARED)
        if slot:
            # the prober sends one request object per check, poll after poll: the same URL and
            # headers objects mean the same arguments (a copy, as for a redirect, is rebuilt)
            url_obj, headers_obj, args = slot["aio"]
            if url_obj is request.url and headers_obj is request.headers:
                return args
        raw = request.headers.raw
        import aiohttp

        url = request.url
        if url.userinfo:  # httpx has turned it into an Authorization header already
            url = url.copy_with(userinfo=b"")
        timeout = request.extensions.get("timeout", {})
        from yarl import URL  # aiohttp's own URL type: parsed once per check, not per poll

        args = (
            URL(str(url), encoded=True),
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw],
            aiohttp.ClientTimeout(
                sock_connect=timeout.get("connect"), sock_read=timeout.get("read")
            ),
        )
        if slot is not None and not slot:  # the check's own URL; redirects are not cached
            slot["aio"] = (request.url, request.headers, args)
        return args

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._get_session()
        url, headers, timeout = self._args(request)
        stream = request.stream
        # httpx.ByteStream is also a sync stream: joining it skips an async generator per poll
        body = (
            b"".join(stream) if isinstance(stream, httpx.SyncByteStream) else await request.aread()
        )
        try:
            async with session.request(
                request.method,
                url,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                compress=False,
                ssl=self._ssl_for(request),
                timeout=timeout,
            ) as resp:
                extensions = None
                if request.extensions.get(CERTIFICATE):  # before the body releases the socket
                    extensions = {EXPIRY: _expiry(resp)}
                declared = resp.content_length
                if declared is not None and declared > self.max_body:
                    raise BodyTooLarge(declared, self.max_body)
                # a declared length within the limit is read in one go; otherwise in capped chunks
                content = await resp.read() if declared is not None else await self._read(resp)
                return finished_response(
                    resp.status,
                    resp.raw_headers,
                    content,
                    request,
                    (resp.reason or "").encode("latin-1", "replace"),
                    self.max_body,
                    extensions,
                )
        except (BodyTooLarge, BodyDecodeError, httpx.HTTPError):
            raise
        except Exception as exc:
            raise _as_httpx(exc, request) from exc

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = await resp.content.read(CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge(None, self.max_body)
            chunks.append(chunk)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _expiry(resp: aiohttp.ClientResponse):
    conn = resp.connection
    transport = conn.transport if conn is not None else None
    return ssl_object_expiry(transport.get_extra_info("ssl_object") if transport else None)


def _as_httpx(exc: Exception, request: httpx.Request) -> Exception:
    """The httpx exception for an aiohttp one; the probe reads the cause chain for details."""
    import aiohttp

    message = str(exc) or type(exc).__name__
    kind: Any
    if isinstance(exc, aiohttp.ClientResponseError):
        # never an HTTP status here (nothing calls raise_for_status): aiohttp's parser refused
        # the response, and says why in the first line of its message
        return ProtocolViolation(_parser_reason(exc.message), request=request)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, (TimeoutError, aiohttp.ServerTimeoutError)):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientPayloadError):
        kind = httpx.ReadError
    elif isinstance(exc, (aiohttp.ClientError, OSError)):
        kind = httpx.NetworkError
    else:
        return exc
    return kind(message, request=request)


def _parser_reason(message: str) -> str:
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    if m := re.match(r"Got more than (\d+) bytes", first):
        return f"a response line over {m.group(1)} bytes"
    reason = first.split(": b'")[0].rstrip(":") or "malformed response"
    return reason[0].lower() + reason[1:]
