"""A small HTTP/1.1 server on asyncio streams: keep-alive, Content-Length bodies, nothing more.

Hand-written so the fake needs only the stdlib and so a listener can be closed and reopened
on the same port (the ``refuse`` fault) under our control.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_HEADERS = 100
JSON = "application/json"


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes = b""
    path: str = field(init=False)
    query: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = parts.path or "/"
        self.query = parse_qs(parts.query, keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body as JSON; ValueError (with the parser's reason) if it is not."""
        return json.loads(self.body.decode("utf-8"))

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    obj: Any, status: int = 200, content_type: str = JSON, indent: int | None = None
) -> Response:
    separators = None if indent else (",", ":")
    text = json.dumps(obj, indent=indent, separators=separators)
    return Response(status, text.encode(), content_type)


def text_response(text: str, status: int = 200, content_type: str = "text/plain") -> Response:
    return Response(status, text.encode(), f"{content_type}; charset=utf-8")


App = Callable[[Request], Awaitable[Response]]


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    """The next request on the connection, or None when the client has gone away."""
    try:
        line = await reader.readline()
        while line in (b"\r\n", b"\n"):  # RFC 9112 §2.2: ignore empty lines before a request
            line = await reader.readline()
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(400, "malformed request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n"):
                break
            if not raw:
                return None
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest(400, "malformed header line")
            key = name.lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        else:
            raise BadRequest(431, "too many header fields")
    except ValueError as exc:  # a line longer than the stream limit
        raise BadRequest(431, "request line or header too long") from exc
    if "transfer-encoding" in headers:
        raise BadRequest(501, "chunked request bodies are not supported; send Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError as exc:
        raise BadRequest(400, "invalid Content-Length") from exc
    if length < 0:
        raise BadRequest(400, "invalid Content-Length")
    if length > MAX_BODY:
        raise BadRequest(413, f"request body over {MAX_BODY} bytes")
    if length and headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        body = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        return None
    return Request(method, target, version, headers, body)


def encode_response(resp: Response, *, head: bool, keep_alive: bool) -> bytes:
    try:
        reason = HTTPStatus(resp.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [
        f"HTTP/1.1 {resp.status} {reason}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Length: {len(resp.body)}",
    ]
    if resp.content_type:
        lines.append(f"Content-Type: {resp.content_type}")
    lines += [f"{k}: {v}" for k, v in resp.headers.items()]
    if not keep_alive:
        lines.append("Connection: close")
    # A HEAD answer carries the headers of the GET answer but never a body (RFC 9110 §9.3.2).
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else resp.body)


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, app: App
) -> None:
    """Answer requests on one connection until either side closes it."""
    while True:
        try:
            req = await read_request(reader, writer)
        except BadRequest as exc:
            resp = json_response({"error": exc.message}, exc.status)
            writer.write(encode_response(resp, head=False, keep_alive=False))
            await writer.drain()
            return
        if req is None:
            return
        try:
            resp = await app(req)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("fake service failed on %s %s", req.method, req.target)
            resp = json_response({"error": "internal error in the fake service"}, 500)
        keep = req.keep_alive
        writer.write(encode_response(resp, head=req.method == "HEAD", keep_alive=keep))
        await writer.drain()
        if not keep:
            return
