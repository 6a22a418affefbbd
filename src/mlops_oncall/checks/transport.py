"""The one shared httpx.AsyncClient every probe goes through, and its transport.

httpx stays the client API. Underneath, an aiohttp-based transport (``aiotransport``) costs
a fraction of the CPU per poll of httpx's own pool (bench/poll/README.md), so it is used
whenever aiohttp is installed and there are many checks; httpx's transport is the fallback.
With a few checks, plain http goes over ``leantransport`` (asyncio streams), which starts the
soonest. A small dispatching transport picks the pool per request: httpx's own, with a
verifying and a non-verifying pool, serves https under the lean kind, the rare check that
reads ``[CERTIFICATE_EXPIRATION]`` (only it exposes the TLS socket after a small body is read)
and every check when aiohttp is missing.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Literal

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.decode import ACCEPT_ENCODING, BodyTooLarge, decode
from mlops_oncall.checks.tlsinfo import ssl_object_expiry

TransportKind = Literal["auto", "aiohttp", "httpx", "lean"]
INSECURE = "mlops_oncall.insecure"  # request extension: skip TLS verification
CERTIFICATE = "mlops_oncall.certificate"  # request extension: the peer certificate is read
PREPARED = "mlops_oncall.prepared"  # request extension: a per-check dict transports may cache in
EXPIRY = "mlops_oncall.certificate_expiry"  # response extension: read before the body was
FEW_CHECKS = 50  # up to this many, "auto" picks httpx's own transport (see kind_for)
KEEPALIVE_EXPIRY = 15.0  # below common server idle timeouts, so a reused socket is rarely stale


class ProtocolViolation(httpx.RemoteProtocolError):
    """A response that breaks HTTP/1.1: a malformed status line, header or chunk, conflicting
    lengths, headers over a transport's limit. The probe's error class ``protocol``."""


def h11_violation(
    exc: httpx.RemoteProtocolError, request: httpx.Request
) -> httpx.RemoteProtocolError:
    """httpx's own transport raises RemoteProtocolError both for a server that hung up and
    for one that sent garbage; h11's messages tell them apart."""
    message = str(exc)
    if message.startswith(("Server disconnected", "peer closed connection")):
        return exc  # hung up, before or in the middle of the response
    if message == "Receive buffer too long":
        message = "response headers too long"
    message = re.sub(r"bytearray\((b['\"].*?['\"])\)", r"\1", message)
    return ProtocolViolation(message, request=request)


def unsafe_head(request: httpx.Request) -> str | None:
    """Why the request's line or headers cannot be sent as they are (a CR or LF would end the
    line and start one of the value's choosing), or None. Every transport refuses such a
    request, whatever validated it before."""
    if any(c in request.url.raw_path for c in (b"\r", b"\n", b"\0", b" ")):
        return "the request target contains a CR, LF, NUL or space"
    for name, value in request.headers.raw:
        if any(c in name or c in value for c in (b"\r", b"\n", b"\0")) or not name:
            shown = name.decode("ascii", "replace")[:40]
            return f"header {shown!r} contains a CR, LF or NUL"
    return None


def finished_response(
    status: int,
    headers,
    content: bytes,
    request: httpx.Request,
    reason: bytes,
    max_body: int,
    extensions: dict | None = None,
) -> httpx.Response:
    """The response a probe transport hands httpx, with the whole raw body already read and
    decoded here, bounded (``decode``): httpx then neither decodes it (without a bound) nor
    runs its chain of async generators per body (a fifth of a poll's CPU)."""
    response = httpx.Response(
        status,
        headers=headers,
        stream=httpx.ByteStream(content),
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason, **(extensions or {})},
    )
    if len(content) > max_body:
        raise BodyTooLarge(None, max_body)
    encoding = response.headers.get("content-encoding")
    if encoding and content:
        content = decode(content, encoding, max_body)
    response._content = content  # whole and decoded; httpx would copy (and decode) it again
    return response


def aiohttp_available() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


def kind_for(kind: TransportKind, checks: int) -> TransportKind:
    """``auto`` with a few checks is the lean transport for plain http (``leantransport``) and
    httpx's own for https. It starts sooner than aiohttp (whose import builds two TLS contexts:
    about 120 ms) and than httpx's own (whose first request imports httpcore, h11 and anyio:
    about 60 ms), so the first states are on screen sooner; a few checks never notice the CPU
    per poll."""
    return "lean" if kind == "auto" and checks <= FEW_CHECKS else kind


def resolve_kind(kind: TransportKind) -> Literal["aiohttp", "httpx", "lean"]:
    if kind == "auto":
        return "aiohttp" if aiohttp_available() else "httpx"
    if kind == "aiohttp" and not aiohttp_available():
        raise RuntimeError("the aiohttp transport needs the aiohttp package")
    return kind


class _Dispatch(httpx.AsyncBaseTransport):
    def __init__(self, kind: str, limits: httpx.Limits, max_body: int):
        self.kind = kind
        self.limits = limits
        self.max_body = max_body
        self.pools: dict[tuple[str, bool], httpx.AsyncBaseTransport] = {}

    def _pool(self, insecure: bool, certificate: bool, tls: bool) -> httpx.AsyncBaseTransport:
        if self.kind == "aiohttp" and not certificate:
            key = ("aiohttp", False)  # verification is chosen per request there
        elif self.kind == "lean" and not tls:
            key = ("lean", False)  # plain http only; https goes to httpx's own below
        elif not tls:
            # plain http never uses a TLS context, so this pool gets one that loads no CA
            # bundle (26 ms saved before a plain-http workspace's first poll)
            key = ("httpx", True)
        else:
            key = ("httpx", insecure)
        pool = self.pools.get(key)
        if pool is None:
            if key[0] == "lean":
                from mlops_oncall.checks.leantransport import LeanProbeTransport

                pool = LeanProbeTransport(limits=self.limits, max_body=self.max_body)
            elif key[0] == "aiohttp":
                from mlops_oncall.checks.aiotransport import AiohttpProbeTransport

                # verifying, built on the first https request; an insecure request skips it
                pool = AiohttpProbeTransport(
                    ssl_context=lambda: httpx.create_ssl_context(verify=True, trust_env=True),
                    limits=self.limits,
                    max_body=self.max_body,
                )
            else:
                # key[1]: insecure, or plain http (which never reads the context)
                ctx = httpx.create_ssl_context(verify=not key[1], trust_env=True)  # SSL_CERT_FILE
                pool = BoundedHTTPTransport(verify=ctx, limits=self.limits, max_body=self.max_body)
            self.pools[key] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ext = request.extensions
        pool = self._pool(
            bool(ext.get(INSECURE)), bool(ext.get(CERTIFICATE)), request.url.scheme == "https"
        )
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools.values():
            await pool.aclose()
        self.pools.clear()


class BoundedHTTPTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its body read raw, capped and decoded like the other transports'
    (httpx would decode it unbounded, also the body of every redirect it follows)."""

    def __init__(self, *, max_body: int, **kwargs):
        super().__init__(**kwargs)
        self.max_body = max_body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.RemoteProtocolError as exc:
            raise h11_violation(exc, request) from exc
        extensions = dict(response.extensions)
        try:
            if request.extensions.get(CERTIFICATE):
                # from the socket, while the connection is still this response's
                stream = extensions.get("network_stream")
                if stream is not None:
                    extensions[EXPIRY] = ssl_object_expiry(stream.get_extra_info("ssl_object"))
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_body:
                raise BodyTooLarge(int(declared), self.max_body)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.stream:  # raw: not decoded
                size += len(chunk)
                if size > self.max_body:
                    raise BodyTooLarge(None, self.max_body)
                chunks.append(chunk)
        except httpx.RemoteProtocolError as exc:
            raise h11_violation(exc, request) from exc
        finally:
            await response.aclose()
        return finished_response(
            response.status_code,
            response.headers.raw,
            b"".join(chunks),
            request,
            extensions.get("reason_phrase", b""),
            self.max_body,
            extensions,
        )


class NoCookies(httpx.Cookies):
    """A probe keeps no cookies between polls: each poll sees the service as a new client.

    It also spares httpx's per-response cookie parsing, about a seventh of a poll's CPU.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        pass

    def set_cookie_header(self, request: httpx.Request) -> None:
        pass


def build_client(
    kind: TransportKind = "auto",
    *,
    max_connections: int = 64,
    max_redirects: int = 5,
    max_body: int = 1024 * 1024,
) -> httpx.AsyncClient:
    """The shared client. Call inside a running event loop; close with ``await aclose()``."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    transport = _Dispatch(resolve_kind(kind), limits, max_body)
    # trust_env=False: a health probe must reach the service itself, not an env-configured proxy
    client = httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        max_redirects=max_redirects,
        follow_redirects=True,
        # only what ``decode`` decodes with a bound (httpx would offer what it can decode)
        headers={"Accept-Encoding": ACCEPT_ENCODING},
    )
    client._cookies = NoCookies()  # the public setter would wrap it in a plain Cookies
    return client
