"""The one shared httpx.AsyncClient every probe goes through, and its transport.

httpx stays the client API; underneath, one transport over aiohttp (``aiotransport``) serves
plain http and https, verifying or not per request, and reads a certificate's expiry when a
check asks for it. It hands httpx a finished response whose body was capped and decoded with
a bound (``decode``), so a compressed bomb never reaches httpx's own, unbounded, decoders.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.decode import ACCEPT_ENCODING, BodyTooLarge, decode

if TYPE_CHECKING:
    from mlops_oncall.checks.aiotransport import AiohttpProbeTransport

INSECURE = "mlops_oncall.insecure"  # request extension: skip TLS verification
CERTIFICATE = "mlops_oncall.certificate"  # request extension: the peer certificate is read
PREPARED = "mlops_oncall.prepared"  # request extension: a per-check dict transports may cache in
EXPIRY = "mlops_oncall.certificate_expiry"  # response extension: read before the body was
KEEPALIVE_EXPIRY = 15.0  # below common server idle timeouts, so a reused socket is rarely stale


class ProtocolViolation(httpx.RemoteProtocolError):
    """A response that breaks HTTP/1.1: a malformed status line, header or chunk, conflicting
    lengths, headers over the parser's limit. The probe's error class ``protocol``."""


def unsafe_head(request: httpx.Request) -> str | None:
    """Why the request's line or headers cannot be sent as they are (a CR or LF would end the
    line and start one of the value's choosing), or None. The probe refuses such a request
    before any transport sees it, whatever validated it before."""
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
    """The response the transport hands httpx, with the whole raw body already read and
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
    # whole and decoded; httpx's public ways in would decode it again, unbounded (privates.py)
    response._content = content
    return response


# A probe keeps no cookies between polls: each poll sees the service as a new client. A jar
# whose policy accepts no domain is httpx's public way to say so (``cookies=``).
def _no_cookies() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def build_transport(
    *, max_connections: int = 64, max_body: int = 1024 * 1024
) -> AiohttpProbeTransport:
    """The probe transport; call inside a running event loop, close with ``await aclose()``."""
    from mlops_oncall.checks.aiotransport import AiohttpProbeTransport

    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    # verifying, built at the first https request: plain http never loads the CA bundle
    return AiohttpProbeTransport(
        ssl_context=lambda: httpx.create_ssl_context(verify=True, trust_env=True),  # SSL_CERT_FILE
        limits=limits,
        max_body=max_body,
    )


def build_client(
    transport: httpx.AsyncBaseTransport, *, max_redirects: int = 5
) -> httpx.AsyncClient:
    """The shared client over ``transport``; it follows redirects and sends URL credentials."""
    # trust_env=False: a health probe must reach the service itself, not an env-configured proxy
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        max_redirects=max_redirects,
        follow_redirects=True,
        cookies=_no_cookies(),
        # only what ``decode`` decodes with a bound (httpx would offer what it can decode)
        headers={"Accept-Encoding": ACCEPT_ENCODING},
    )
