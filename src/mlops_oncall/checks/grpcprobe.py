"""``kind: grpc``: one unary call per poll over ``grpc.aio``, turned into an Observation.

Imported only when a grpc check runs (grpcio costs ~20 MiB and ~0.1 s of imports), so a
workspace without one never loads it. A check names its method in ``CheckSpec.method`` (the
full ``/package.Service/Method``) and its request as JSON in ``Request.body``; the methods it
may call are listed in ``METHODS``: the standard health protocol and the Open Inference
Protocol's readiness calls (``checks/oip_grpc.py``). The reply becomes ``[BODY]`` as JSON
(``{"status": "SERVING"}``, as Gatus gives it), the call's status code name ``[STATUS]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import grpc
from google.protobuf import json_format
from grpc import aio
from grpc_health.v1 import health_pb2

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
MAX_MESSAGE = 1024 * 1024  # a reply larger than this is refused by grpcio as it arrives
_OPTIONS = (
    ("grpc.enable_retries", 0),  # one call is one observation
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    # a server that comes back is seen within seconds, not after grpcio's 120 s backoff
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.min_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


@dataclass(frozen=True, slots=True)
class Method:
    request: Callable[[], Any]  # the request message class
    response: Any  # the response message class


def _methods() -> dict[str, Method]:
    from mlops_oncall.checks import oip_grpc

    found = {HEALTH_CHECK: Method(health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse)}
    for name, (req, resp) in oip_grpc.methods().items():
        found[name] = Method(req, resp)
    return found


METHODS = _methods()


class CallFailed(Exception):
    """A call that ended with a status other than OK; ``error_class`` and message say why."""

    def __init__(self, code: str, error_class: str, message: str):
        super().__init__(message)
        self.code = code
        self.error_class = error_class
        self.message = message


@dataclass(slots=True)
class Reply:
    status: str  # "OK"
    body: bytes  # the reply as JSON


class GrpcClient:
    """One channel per (target, TLS, roots), kept open between polls; built inside the loop."""

    def __init__(self) -> None:
        self._channels: dict[tuple[str, bool], aio.Channel] = {}
        self._calls: dict[tuple[int, str], Any] = {}

    async def channel(
        self, url: str, insecure: bool = False, timeout: float = 5.0
    ) -> tuple[aio.Channel, str]:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 0
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        tls = parts.scheme == "grpcs"
        key = (target, tls, tls and insecure)
        chan = self._channels.get(key)
        if chan is None:
            if tls and insecure:
                pem, name = await _pinned(host, port, timeout)
                creds = grpc.ssl_channel_credentials(root_certificates=pem)
                options = (*_OPTIONS, ("grpc.ssl_target_name_override", name))
                chan = aio.secure_channel(target, creds, options=options)
            elif tls:
                creds = grpc.ssl_channel_credentials(root_certificates=_roots())
                chan = aio.secure_channel(target, creds, options=_OPTIONS)
            else:
                chan = aio.insecure_channel(target, options=_OPTIONS)
            self._channels[key] = chan
        return chan, target

    async def forget(self, url: str) -> None:
        """Drop an insecure channel after a TLS failure: the next poll pins the certificate
        the server presents then (it may have rotated)."""
        for key in [k for k in self._channels if k[2]]:
            if url.endswith(key[0]):
                await self._channels.pop(key).close()

    def _call(self, chan: aio.Channel, name: str) -> Any:
        key = (id(chan), name)
        call = self._calls.get(key)
        if call is None:
            method = METHODS[name]
            call = chan.unary_unary(
                name,
                request_serializer=method.request.SerializeToString,
                response_deserializer=method.response.FromString,
            )
            self._calls[key] = call
        return call

    async def call(
        self,
        url: str,
        name: str,
        request: bytes | None,
        metadata: tuple,
        timeout: float,
        insecure: bool = False,
    ) -> Reply:
        try:
            chan, target = await self.channel(url, insecure, timeout)
        except (OSError, TimeoutError, ssl.SSLError) as exc:  # fetching the certificate to pin
            where = urlsplit(url).netloc
            raise CallFailed("UNAVAILABLE", "connect", f"cannot reach {where}: {exc}") from None
        method = METHODS[name]
        message = method.request()
        if request:
            json_format.Parse(request, message)
        try:
            reply = await self._call(chan, name)(
                message, timeout=timeout, metadata=metadata or None
            )
        except aio.AioRpcError as exc:
            code = exc.code().name
            failed = CallFailed(code, *classify(exc, target, name, timeout))
            if insecure and failed.error_class == "tls":
                await self.forget(url)
            raise failed from None
        data = json_format.MessageToDict(
            reply,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
        return Reply("OK", json.dumps(data, separators=(",", ":")).encode())

    async def aclose(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        self._calls.clear()
        for chan in channels:
            await chan.close()


async def _pinned(host: str, port: int, timeout: float) -> tuple[bytes, str]:
    """For ``insecure: true`` on grpcs (grpcio has no switch to skip verification): the
    certificate the server presents, to trust as the root, and a name it is issued to, for
    grpcio's host name check. Two handshakes, once per channel."""
    loose = ssl.create_default_context()
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    der = await _handshake(host, port, loose, timeout, binary=True)
    pem = ssl.DER_cert_to_PEM_cert(der).encode()
    # trusting that one certificate, the handshake decodes it: its names
    pinned = ssl.create_default_context(cadata=pem.decode())
    pinned.check_hostname = False
    pinned.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    try:
        cert = await _handshake(host, port, pinned, timeout, binary=False)
    except ssl.SSLError:  # an expired or odd certificate: grpcio will say so with the host
        return pem, host
    names = [v for k, v in cert.get("subjectAltName", ()) if k in ("DNS", "IP Address")]
    return pem, (host if host in names or not names else names[0])


async def _handshake(
    host: str, port: int, context: ssl.SSLContext, timeout: float, *, binary: bool
):
    async with asyncio.timeout(timeout):
        _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    try:
        return writer.get_extra_info("ssl_object").getpeercert(binary_form=binary)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _roots() -> bytes | None:
    """The CA bundle https checks trust too: SSL_CERT_FILE if set, else grpcio's own roots."""
    path = os.environ.get("SSL_CERT_FILE")
    if path and os.path.isfile(path):
        with open(path, "rb") as f:
            return f.read()
    return None


# gRPC status codes that are not a connection or time problem, by error class
_CLASSES = {
    "UNIMPLEMENTED": "unimplemented",
    "UNAUTHENTICATED": "unauthenticated",
}


def classify(exc: aio.AioRpcError, target: str, name: str, timeout: float) -> tuple[str, str]:
    """(error class, message) for a call that did not end OK."""
    code = exc.code().name
    details = (exc.details() or "").strip()
    debug = exc.debug_error_string() or ""
    text = f"{details} {debug}".lower()
    said = f": {details}" if details else ""
    if code == "DEADLINE_EXCEEDED":
        return "timeout", f"no reply from {target} within {timeout:g}s (DEADLINE_EXCEEDED)"
    if code == "UNAVAILABLE":
        if "dns resolution failed" in text or "name or service not known" in text:
            return "dns", f"cannot resolve {target.rsplit(':', 1)[0]} (UNAVAILABLE{said})"
        if any(w in text for w in ("ssl", "handshake", "certificate", "tls")):
            return "tls", f"TLS handshake with {target} failed (UNAVAILABLE{said})"
        if "refused" in text:
            return "connect", f"connection refused by {target} (UNAVAILABLE)"
        return "connect", f"{target} is unavailable (UNAVAILABLE{said})"
    if code == "NOT_FOUND" and name == HEALTH_CHECK:  # grpcio's health servicer: unknown name
        return "service_unknown", f"{target} does not know the service asked for (NOT_FOUND)"
    if code == "UNIMPLEMENTED":
        return "unimplemented", f"{target} does not implement {name} (UNIMPLEMENTED)"
    return _CLASSES.get(code, "grpc_status"), f"{name} on {target} ended {code}{said}"
