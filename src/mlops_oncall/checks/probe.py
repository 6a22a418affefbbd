"""Probes: one request (or TCP connect) per check, turned into a Result with an error class.

Every failure gets one of the error classes (dns connect tls timeout http_status body_too_large
redirects body_parse condition protocol) and a human message; every message goes through
the check set's Redactor before it leaves this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.conditions import ConditionResult, Observation, evaluate
from mlops_oncall.checks.decode import BodyDecodeError, decode
from mlops_oncall.checks.presets import preset_results
from mlops_oncall.checks.promql import judge
from mlops_oncall.checks.redact import NULL, Redactor
from mlops_oncall.checks.spec import CheckSpec
from mlops_oncall.checks.tlsinfo import peer_expiry, ssl_object_expiry
from mlops_oncall.checks.transport import (
    CERTIFICATE,
    EXPIRY,
    INSECURE,
    PREPARED,
    BodyTooLarge,
    ProtocolViolation,
    build_client,
    build_transport,
    unsafe_head,
)
from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.timestamps import rfc3339

MAX_BODY = 1024 * 1024
GRPC_MISSING = "grpc checks need the grpc extra: pip install 'mlops-oncall[grpc]'"


@dataclass(slots=True)
class Result:
    """One raw probe result, before thresholds."""

    check_id: str
    state: str  # up | degraded | down
    error_class: str | None
    message: str
    latency_ms: float | None
    status: int | None
    conditions: list[ConditionResult]
    observed_at: datetime
    service: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "up"

    def observed(self) -> dict[str, Any]:
        """Observed values of the conditions that failed, for transition records."""
        return {c.condition: c.observed for c in self.conditions if not c.success}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.check_id,
            "service": self.service,
            "state": self.state,
            "error_class": self.error_class,
            "message": self.message,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "observed_at": rfc3339(self.observed_at),
            "conditions": [c.to_json() for c in self.conditions],
        }


@dataclass(slots=True)
class _Prepared:
    request: httpx.Request | None  # the check's request, sent as is on the direct path
    direct: bool  # the transport can be called without the client (no redirects, no userinfo)
    refused: str | None = None  # why the request must not be sent (checked once per check)


class Prober:
    """Runs probes over one shared httpx.AsyncClient. Use ``async with`` or ``await aclose()``."""

    def __init__(
        self,
        *,
        redactor: Redactor = NULL,
        clock: Clock = SYSTEM,
        max_connections: int = 64,
        max_body: int = MAX_BODY,
        max_redirects: int = 5,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.redactor = redactor
        self.clock = clock
        self.max_body = max_body
        self.max_redirects = max_redirects
        self._max_connections = max_connections
        self._client = client
        # ``transport``: another transport under the client built here (bench/poll compares
        # one); the probe transport by default. Called directly; None with ``client=``.
        self._given_transport = transport
        self._transport: httpx.AsyncBaseTransport | None = None
        self._prepared: dict[str, tuple[CheckSpec, _Prepared]] = {}
        self._grpc: Any = None  # grpcprobe.GrpcClient, built by the first grpc check
        self._tls: dict[bool, ssl.SSLContext] = {}  # by insecure

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # built lazily: it must be created inside the running loop
            if self._given_transport is None:
                built = build_transport(
                    max_connections=self._max_connections, max_body=self.max_body
                )
                built.open()  # before any probe's clock starts (see open)
                self._transport = built
            else:
                self._transport = self._given_transport
            self._client = build_client(self._transport, max_redirects=self.max_redirects)
        return self._client

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._grpc is not None:
            await self._grpc.aclose()
            self._grpc = None
        if self._client is not None:
            await self._client.aclose()  # and the transport under it
            self._client = None
            self._transport = None

    async def probe(self, spec: CheckSpec) -> Result:
        """Probe once; never raises (except cancellation)."""
        try:
            if spec.kind == "tcp":
                return await self._tcp(spec)
            if spec.kind == "grpc":
                return await self._grpc_call(spec)
            if spec.kind == "dns":
                return await self._dns(spec)
            return await self._http(spec)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill the poller; it shows as a failure
            return self._failed(spec, "connect", f"probe failed: {type(exc).__name__}: {exc}")

    # ---- http

    async def _http(self, spec: CheckSpec) -> Result:
        req = spec.request
        total = spec.total_timeout
        prepared = self._prepare(spec)
        if prepared.refused:
            return self._failed(spec, "protocol", f"request not sent: {prepared.refused}")
        obs = Observation(now=self.clock.now())
        started = time.perf_counter()
        try:
            async with asyncio.timeout(total):
                response = await self._send(prepared)
                try:
                    obs.status = response.status_code
                    obs.headers = _LazyHeaders(response.headers)
                    if spec.needs_certificate:
                        obs.certificate_expires_at = _certificate_expiry(response)
                    obs.body = await self._read_body(response)
                finally:
                    await response.aclose()
        except BodyTooLarge as exc:
            return self._failed(spec, "body_too_large", self._too_large(exc), obs)
        except BodyDecodeError as exc:
            return self._failed(spec, "body_parse", f"cannot decode the body: {exc}", obs)
        except httpx.TooManyRedirects as exc:
            last = _last_url(exc)
            return self._failed(
                spec,
                "redirects",
                f"more than {self.max_redirects} redirects (a redirect loop?); last to {last}",
            )
        except TimeoutError:
            return self._failed(spec, "timeout", f"no complete response within {_secs(total)}")
        except Exception as exc:
            error_class, message = classify(exc, req.url, spec)
            return self._failed(spec, error_class, message)
        elapsed = (time.perf_counter() - started) * 1000
        obs.response_time_ms = round(elapsed)
        obs.connected = True
        return self._evaluate(spec, obs, round(elapsed, 1))

    async def _send(self, prepared: _Prepared) -> httpx.Response:
        """Send through the shared client's transport; the client itself takes over for what
        only it does (following redirects, credentials in the URL).

        Straight to the transport, with one request object reused for every poll of a check
        (the transports do not change it), is a sixth of a poll's CPU less
        (bench/poll/README.md). A check seen redirecting once goes through ``client.send``
        from then on, so only its first poll sends the first hop twice.
        """
        if prepared.direct:
            assert self._transport is not None  # direct only over the transport built here
            response = await self._transport.handle_async_request(prepared.request)
            if not (response.is_redirect and "location" in response.headers):
                return response
            await response.aclose()
            prepared.direct = False
        request = httpx.Request(  # a fresh one: the client's auth and redirects change it
            prepared.request.method,
            prepared.request.url,
            headers=prepared.request.headers,
            stream=prepared.request.stream,
            extensions=prepared.request.extensions,
        )
        return await self.client.send(request, stream=True)

    def _prepare(self, spec: CheckSpec) -> _Prepared:
        """URL, headers and extensions built once per check: httpx's merging of client
        defaults, URL parsing and header normalising cost more than the rest of a poll."""
        hit = self._prepared.get(spec.id)
        if hit is not None and hit[0] is spec:
            return hit[1]
        req = spec.request
        try:
            template = self.client.build_request(
                req.method,
                req.url,
                headers=req.headers,
                content=req.body,
                timeout=httpx.Timeout(spec.total_timeout, connect=spec.connect_timeout),
            )
        except (httpx.InvalidURL, httpx.LocalProtocolError) as exc:  # e.g. a CR in the URL
            prepared = _Prepared(None, False, str(exc) or type(exc).__name__)
            self._prepared[spec.id] = (spec, prepared)
            return prepared
        extensions = dict(template.extensions)
        extensions[INSECURE] = spec.insecure
        extensions[CERTIFICATE] = spec.needs_certificate
        extensions[PREPARED] = {}
        direct = self._transport is not None and not template.url.userinfo
        request = httpx.Request(
            req.method,
            template.url,
            headers=template.headers,
            stream=httpx.ByteStream(req.body or b""),  # re-iterable: read again on every poll
            extensions=extensions,
        )
        prepared = _Prepared(request, direct, unsafe_head(request))
        self._prepared[spec.id] = (spec, prepared)
        return prepared

    async def _read_body(self, response: httpx.Response) -> bytes:
        try:
            return response.content  # the probe transport hands over a finished body
        except httpx.ResponseNotRead:
            pass
        # a caller's own client or transport: read raw, capped, and decoded with a bound
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise BodyTooLarge(int(declared), self.max_body)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge(None, self.max_body)
            chunks.append(chunk)
        return decode(b"".join(chunks), response.headers.get("content-encoding"), self.max_body)

    def _too_large(self, exc: BodyTooLarge) -> str:
        limit = _size(self.max_body)
        if exc.declared is not None:
            return f"body of {_size(exc.declared)} is larger than the {limit} limit"
        if exc.encoding:
            return f"body is larger than the {limit} limit once decoded ({exc.encoding})"
        return f"body is larger than the {limit} limit"

    # ---- tcp

    async def _tcp(self, spec: CheckSpec) -> Result:
        url = spec.request.url
        parts = urlsplit(url if "://" in url else f"tcp://{url}")
        host, port = parts.hostname or "", parts.port or 0
        obs = Observation(now=self.clock.now())
        started = time.perf_counter()
        tls = self._tls_context(spec.insecure) if parts.scheme == "tls" else None
        try:
            async with asyncio.timeout(spec.total_timeout):
                _, writer = await asyncio.wait_for(  # with tls://, the handshake too
                    asyncio.open_connection(host, port, ssl=tls), spec.connect_timeout
                )
                if tls is not None:
                    obs.certificate_expires_at = ssl_object_expiry(
                        writer.get_extra_info("ssl_object")
                    )
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        except TimeoutError:
            return self._failed(
                spec,
                "timeout",
                f"connect to {host}:{port} timed out after {_secs(spec.connect_timeout)}",
            )
        except Exception as exc:
            error_class, message = classify(exc, url, spec)
            return self._failed(spec, error_class, message)
        elapsed = (time.perf_counter() - started) * 1000
        obs.connected = True
        obs.response_time_ms = round(elapsed)
        return self._evaluate(spec, obs, round(elapsed, 1))

    # ---- grpc

    async def _grpc_call(self, spec: CheckSpec) -> Result:
        try:  # only now: grpcio is an optional extra, and costly to import
            from mlops_oncall.checks import grpcprobe
        except ImportError:
            return self._failed(spec, "protocol", GRPC_MISSING)
        if self._grpc is None:
            self._grpc = grpcprobe.GrpcClient()
        req = spec.request
        metadata = tuple((k.lower(), v) for k, v in req.headers.items())
        obs = Observation(now=self.clock.now())
        started = time.perf_counter()
        try:
            # grpcio's deadline ends the call; this only guards against a call that hangs on
            async with asyncio.timeout(spec.total_timeout + 1):
                reply = await self._grpc.call(
                    req.url, req.method, req.body, metadata, spec.total_timeout, spec.insecure
                )
        except grpcprobe.CallFailed as exc:
            obs.grpc_status = exc.code
            return self._failed(spec, exc.error_class, exc.message, obs)
        except TimeoutError:
            _, where = _where(req.url)
            return self._failed(
                spec, "timeout", f"no reply from {where} within {_secs(spec.total_timeout)}"
            )
        elapsed = (time.perf_counter() - started) * 1000
        if spec.needs_certificate and req.url.startswith("grpcs://"):
            # grpcio verified the peer but does not show its certificate: one more handshake
            host, port = urlsplit(req.url).hostname or "", urlsplit(req.url).port or 0
            obs.certificate_expires_at = await peer_expiry(
                host, port, self._tls_context(True), spec.total_timeout
            )
        obs.grpc_status = reply.status
        obs.body = reply.body
        obs.connected = True
        obs.response_time_ms = round(elapsed)
        return self._evaluate(spec, obs, round(elapsed, 1))

    # ---- dns

    async def _dns(self, spec: CheckSpec) -> Result:
        from mlops_oncall.checks import dnsprobe  # only now: dnspython is needed by dns checks

        obs = Observation(now=self.clock.now())
        started = time.perf_counter()
        try:
            async with asyncio.timeout(spec.total_timeout + 1):  # dnspython's own ends it first
                answer = await dnsprobe.query(spec.request.url, spec.total_timeout)
        except dnsprobe.QueryFailed as exc:
            return self._failed(spec, exc.error_class, exc.message)
        except TimeoutError:
            return self._failed(spec, "timeout", f"no answer within {_secs(spec.total_timeout)}")
        elapsed = (time.perf_counter() - started) * 1000
        obs.dns_rcode = answer.rcode
        obs.body = answer.body.encode()
        obs.connected = True
        obs.response_time_ms = round(elapsed)
        return self._evaluate(spec, obs, round(elapsed, 1))

    def _tls_context(self, insecure: bool) -> ssl.SSLContext:
        """The TLS contexts of tls:// and grpcs:// reads, built once: verifying as https does
        (SSL_CERT_FILE honoured), or not."""
        ctx = self._tls.get(insecure)
        if ctx is None:
            ctx = httpx.create_ssl_context(verify=True, trust_env=True)
            if insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._tls[insecure] = ctx
        return ctx

    # ---- results

    def _evaluate(self, spec: CheckSpec, obs: Observation, latency: float) -> Result:
        if spec.promql is not None:
            return self._judged(spec, obs, latency)
        results: list[ConditionResult] = []
        if spec.evaluator is not None:
            results.extend(preset_results(spec.evaluator, obs))
        results.extend(evaluate(c.condition, obs, c.level) for c in spec.conditions)
        results = [self._clean(r) for r in results]
        failed = [r for r in results if not r.success]
        hard = [r for r in failed if r.level == "fail"]
        if hard:
            state = "down"
        elif failed:
            state = "degraded"
        else:
            state = "up"
        error_class = None
        if failed:
            ranked = hard or failed
            classes = {r.error_class for r in ranked}
            error_class = next(
                (
                    c
                    for c in ("http_status", "body_parse", "service_unknown", "dns")
                    if c in classes
                ),
                "condition",
            )
            message = "; ".join(r.message for r in ranked)
            if error_class == "http_status":
                reason = _reason(obs)
                if reason:
                    message += f" (body: {reason})"
        else:
            message = "ok"
        return Result(
            check_id=spec.id,
            state=state,
            error_class=error_class,
            message=self.redactor.text(message),
            latency_ms=latency,
            status=obs.status,
            conditions=results,
            observed_at=obs.now,
            service=spec.service,
        )

    def _judged(self, spec: CheckSpec, obs: Observation, latency: float) -> Result:
        """A prometheus check: its conditions on every series of the answer (checks/promql)."""
        assert spec.promql is not None
        verdict = judge(spec.conditions, spec.promql, obs)
        return Result(
            check_id=spec.id,
            state=verdict.state,
            error_class=verdict.error_class,
            message=self.redactor.text(verdict.message),
            latency_ms=latency,
            status=obs.status,
            conditions=[self._clean(r) for r in verdict.conditions],
            observed_at=obs.now,
            service=spec.service,
        )

    def _clean(self, r: ConditionResult) -> ConditionResult:
        if not self.redactor and "@" not in r.message and r.observed.__class__ is not str:
            return r  # nothing to mask (the common case, so checked cheaply)
        message = self.redactor.text(r.message)
        observed = self.redactor.value(r.observed)
        if message == r.message and observed == r.observed:
            return r
        return ConditionResult(r.condition, r.level, r.success, observed, message, r.error_class)

    def _failed(
        self, spec: CheckSpec, error_class: str, message: str, obs: Observation | None = None
    ) -> Result:
        message = self.redactor.text(message)
        conditions = [
            ConditionResult(c.condition.text, c.level, False, None, f"not evaluated: {message}")
            for c in spec.conditions
        ]
        return Result(
            check_id=spec.id,
            state="down",
            error_class=error_class,
            message=message,
            latency_ms=None,
            status=obs.status if obs is not None else None,
            conditions=conditions,
            observed_at=obs.now if obs is not None else self.clock.now(),
            service=spec.service,
        )


class _LazyHeaders(dict):
    """Response headers, lower-cased, built only if a condition reads [HEADER]."""

    def __init__(self, headers: httpx.Headers):
        super().__init__()
        self._src: httpx.Headers | None = headers

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if self._src is not None:
            self.update((k.lower(), v) for k, v in self._src.items())
            self._src = None
        return super().get(key, default)


# --------------------------------------------------------------------------- classification


def _chain(exc: BaseException):
    """The exception, its causes and contexts, and aiohttp's wrapped os_error, once each."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        cur = todo.pop(0)
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for attr in ("os_error", "certificate_error"):  # aiohttp keeps the OS error here
            todo.append(getattr(cur, attr, None))
        todo.extend([cur.__cause__, cur.__context__])


def _where(url: str) -> tuple[str, str]:
    """(host, host:port) of a URL, or of a tcp check's host:port."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    host = parts.hostname or "?"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return host, f"{host}:{port}"


def _failed_url(exc: BaseException) -> str | None:
    """The URL of the request that failed: after a redirect, not the check's own."""
    for e in _chain(exc):
        if isinstance(e, httpx.RequestError):
            try:
                return str(e.request.url)
            except RuntimeError:  # raised below the client, which had not attached it
                continue
    return None


def classify(exc: BaseException, url: str, spec: CheckSpec | None = None) -> tuple[str, str]:
    """An error class and a human message for a failed request; one that failed after a
    redirect names the host it was redirected to, and where from."""
    failed = _failed_url(exc)
    if failed is None or _where(failed)[1] == _where(url)[1]:
        return _classify(exc, url, spec)
    error_class, message = _classify(exc, failed, spec)
    return error_class, f"{message} (redirected from {_where(url)[1]})"


def _classify(exc: BaseException, url: str, spec: CheckSpec | None) -> tuple[str, str]:
    host, where = _where(url)
    chain = list(_chain(exc))
    chain.sort(key=lambda e: type(e).__module__.startswith("aiohttp"))  # the OS's own first
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            detail = getattr(e, "verify_message", None) or getattr(e, "reason", None) or str(e)
            return "tls", f"TLS certificate of {host} not trusted: {detail}"
        if isinstance(e, ssl.SSLError):
            return "tls", f"TLS handshake with {where} failed: {getattr(e, 'reason', None) or e}"
    for e in chain:
        if isinstance(e, socket.gaierror):
            reason = _GAI.get(e.errno, e.strerror or str(e))
            return "dns", f"cannot resolve {host}: {reason}"
        if type(e).__name__ == "ClientConnectorDNSError":
            return "dns", f"cannot resolve {host}"
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return "connect", f"connection refused by {where}"
        if isinstance(e, ConnectionResetError):
            return "connect", f"connection reset by {where}"
        if isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "connect", f"{where} is unreachable ({e.strerror})"
    for e in chain:
        if isinstance(e, (TimeoutError, httpx.TimeoutException)) or type(e).__name__ in (
            "ServerTimeoutError",
            "SocketTimeoutError",
            "ConnectionTimeoutError",
        ):
            if isinstance(e, httpx.ConnectTimeout) and spec is not None:
                return (
                    "timeout",
                    f"connect to {where} timed out after {_secs(spec.connect_timeout)}",
                )
            limit = f" within {_secs(spec.total_timeout)}" if spec is not None else ""
            return "timeout", f"no response from {where}{limit}"
    for e in chain:
        if isinstance(e, ProtocolViolation):
            return "protocol", f"{where} sent a malformed HTTP response: {e}"
    for e in chain:
        name = type(e).__name__
        if isinstance(e, httpx.ReadError) and str(e) == "the response was cut off":
            return "connect", f"the response from {where} was cut off"
        if isinstance(e, httpx.RemoteProtocolError) or name == "ServerDisconnectedError":
            return "connect", f"{where} closed the connection without a complete response"
        if name in ("ClientPayloadError", "ContentLengthError", "TransferEncodingError"):
            return "connect", f"the response from {where} was cut off"
        if isinstance(e, OSError) and e.strerror:
            return "connect", f"cannot connect to {where}: {e.strerror}"
    return "connect", f"cannot reach {where}: {type(exc).__name__}: {exc}"


_GAI = {
    socket.EAI_NONAME: "name or service not known",
    socket.EAI_AGAIN: "temporary failure in name resolution (no network or DNS?)",
    getattr(socket, "EAI_NODATA", -5): "no address for this name",
    socket.EAI_FAIL: "the name server failed",
}


def _last_url(exc: httpx.TooManyRedirects) -> str:
    try:
        return str(exc.request.url)
    except RuntimeError:  # pragma: no cover - httpx always attaches the request here
        return "?"


def _certificate_expiry(response: httpx.Response) -> datetime | None:
    """Read by the transport before the body released the connection; with a caller's own
    ``client=`` over httpx's transport, from its network stream."""
    if EXPIRY in response.extensions:
        return response.extensions[EXPIRY]
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    return ssl_object_expiry(stream.get_extra_info("ssl_object"))


def _reason(obs: Observation) -> str | None:
    """A short text reason from an error response body (BentoML says why it is not ready)."""
    text = obs.body_text().strip()
    if not text or len(text) > 200:
        return None
    return repr(text.splitlines()[0][:120])


def _secs(seconds: float) -> str:
    return f"{seconds:g}s"


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} B"
