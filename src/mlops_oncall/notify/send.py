"""Sending one request to a destination, with bounded retries.

Through the project's one HTTP stack (httpx over the aiohttp transport), the answer's body
bounded as it arrives. A 2xx is delivered. A 429 (waiting what ``Retry-After`` says, capped)
and a 5xx are retried with exponential backoff, at most ``retries`` times: the destination
did not act on them. Any other 4xx is final at once, with the destination's own error. A
connection refused is retried (nothing was sent). A timeout is retried only where the
destination receives the idempotency key (it can drop the repeat): elsewhere the request may
have arrived, and sending it again could post the update twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.decode import BodyDecodeError, BodyTooLarge
from mlops_oncall.checks.transport import build_client, build_transport

MAX_RESPONSE = 64 * 1024  # read at most this much of an answer
KEPT_RESPONSE = 2000  # characters of it recorded
BACKOFF_S = 1.0  # first wait after a 5xx; doubled each time
MAX_WAIT_S = 60.0  # the longest wait, whatever Retry-After asks

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Sent:
    """What came of sending one request (all of its attempts)."""

    ok: bool
    attempts: int
    sha256: str
    status: int | None = None
    response: str = ""  # bounded; the caller redacts it before recording
    error: str | None = None  # why it failed, in one line
    body: bytes = b""  # the answer, for the caller to read (a Statuspage incident id)
    waits: tuple[float, ...] = ()
    retry_after: float | None = None  # a final 429's Retry-After (the queue waits it)
    retryable: bool = False  # the last attempt may succeed later (429, 5xx, unreachable, ...)


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def retry_after(value: str | None, now: datetime, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date, RFC 9110
    10.2.3), capped; the default when it is missing or unreadable."""
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value) if value.isdigit() else None
    except ValueError:
        seconds = None
    if seconds is None:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_WAIT_S)


def _first_line(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip()
    return text.splitlines()[0][:200] if text else ""


async def send(
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    retries: int,
    idempotent: bool,
    sleep: Sleep,
    now: Callable[[], datetime],
    where: str,
) -> Sent:
    """Send ``body`` until delivered, refused or out of attempts. ``where`` names the
    destination in errors (never its URL: it may hold a token)."""
    digest = sha256(body)
    headers = {"Content-Type": "application/json", **headers}
    transport = build_transport(max_connections=1, max_body=MAX_RESPONSE)
    waits: list[float] = []
    attempt = 0
    try:
        async with build_client(transport) as client:
            while True:
                attempt += 1
                last = attempt > retries
                try:
                    resp = await client.request(
                        method, url, content=body, headers=headers, timeout=timeout
                    )
                except httpx.ConnectError as exc:
                    error = f"{where} could not be reached: {type(exc).__name__}"
                    if last:
                        return Sent(
                            False, attempt, digest, error=error, waits=tuple(waits), retryable=True
                        )
                    wait = min(BACKOFF_S * 2 ** (attempt - 1), MAX_WAIT_S)
                except httpx.TimeoutException:
                    error = f"{where} did not answer within {timeout:g}s"
                    if not idempotent:
                        error += "; it may have arrived, so it was not sent again"
                    if last or not idempotent:
                        return Sent(
                            False,
                            attempt,
                            digest,
                            error=error,
                            waits=tuple(waits),
                            retryable=idempotent,
                        )
                    wait = min(BACKOFF_S * 2 ** (attempt - 1), MAX_WAIT_S)
                except (httpx.HTTPError, BodyTooLarge, BodyDecodeError) as exc:
                    error = f"{where}: {type(exc).__name__}"
                    return Sent(False, attempt, digest, error=error, waits=tuple(waits))
                else:
                    content = resp.content
                    text = content.decode("utf-8", "replace")[:KEPT_RESPONSE]
                    code = resp.status_code
                    if 200 <= code < 300:
                        return Sent(True, attempt, digest, code, text, None, content, tuple(waits))
                    reason = _first_line(content)
                    error = f"{where} answered HTTP {code}" + (f": {reason}" if reason else "")
                    retryable = code == 429 or code >= 500
                    if last or not retryable:
                        after = (
                            retry_after(resp.headers.get("retry-after"), now(), 0.0) or None
                            if code == 429
                            else None
                        )
                        return Sent(
                            False,
                            attempt,
                            digest,
                            code,
                            text,
                            error,
                            content,
                            tuple(waits),
                            after,
                            retryable,
                        )
                    backoff = min(BACKOFF_S * 2 ** (attempt - 1), MAX_WAIT_S)
                    wait = (
                        retry_after(resp.headers.get("retry-after"), now(), backoff)
                        if code == 429
                        else backoff
                    )
                waits.append(wait)
                await sleep(wait)
    finally:
        await transport.aclose()
