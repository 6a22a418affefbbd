"""One store write for a request: off the event loop, timed, and answered 503 only when the
store failed (a sender that retries 5xx, as Alertmanager does, then loses nothing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from mlops_oncall.intake.body import endpoint, refuse
from mlops_oncall.intake.keys import METRICS, SESSION
from mlops_oncall.store.errors import StoreError

T = TypeVar("T")


async def write(request: web.Request, fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread; its result once it committed (counted as stored, with its
    latency). A StoreError is answered 503 with the store's one-line reason (redacted)."""
    started = time.perf_counter()
    try:
        result = await asyncio.to_thread(fn)
    except StoreError as exc:
        reason = request.app[SESSION].redactor.text(str(exc))
        refuse(request, 503, "store_failed", f"the store could not record it: {reason}")
    request.app[METRICS].stored(endpoint(request), time.perf_counter() - started)
    return result
