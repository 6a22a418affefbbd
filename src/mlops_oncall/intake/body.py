"""Request bodies: JSON read with a size bound applied as the bytes arrive (a chunked body or a
lying Content-Length cannot make the daemon hold more than the limit), and the JSON errors every
endpoint answers with."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from aiohttp import web

from mlops_oncall.intake.keys import MAX_BODY, METRICS


def endpoint(request: web.Request) -> str:
    """The metrics label of a request: its route's path (`/changes`), never the raw URL."""
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def refuse(request: web.Request, status: int, reason: str, message: str) -> NoReturn:
    """Count the refusal under ``reason`` and answer ``{"error": message}`` with ``status``."""
    request.app[METRICS].rejected(endpoint(request), reason)
    raise _ERRORS[status](text=json.dumps({"error": message}), content_type="application/json")


_ERRORS: dict[int, Any] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    413: lambda **kw: web.HTTPRequestEntityTooLarge(0, 0, **kw),  # its text is ours
    503: web.HTTPServiceUnavailable,
}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_body(request: web.Request) -> bytes:
    """The body (counted as received), refused with 413 as soon as it passes the limit."""
    request.app[METRICS].received(endpoint(request))
    limit = request.app[MAX_BODY]
    too_large = f"the body is larger than the limit of {limit} bytes (intake.max_body)"
    if request.content_length is not None and request.content_length > limit:
        refuse(request, 413, "too_large", too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            refuse(request, 413, "too_large", too_large)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request) -> Any:
    """The body as a JSON object (unknown fields are the caller's to ignore): 413 past the
    limit, 400 with the reason for malformed JSON or another top level, each counted as
    rejected by its reason."""
    raw = await read_body(request)
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        refuse(
            request,
            400,
            "malformed_json",
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        )
    except (ValueError, RecursionError) as exc:  # not UTF-8, NaN, nesting past Python's stack
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        refuse(request, 400, "malformed_json", f"malformed JSON: {reason}")
    if not isinstance(value, dict):
        refuse(
            request,
            400,
            "not_an_object",
            f"expected a JSON object at the top level, got {_json_type(value)}",
        )
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"
