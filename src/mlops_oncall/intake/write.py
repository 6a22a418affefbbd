"""Store writes for requests: off the event loop, timed, and answered 503 only when the store
failed (a sender that retries 5xx, as Alertmanager does, then loses nothing).

``write`` runs one request's write in a worker thread. ``GroupCommit`` is the webhook's group
commit: one writer thread takes every delivery waiting at that moment and stores them in ONE
transaction (``Alerts.receive_many``), so concurrent deliveries share a commit (one fsync)
instead of queueing one by one on the database's write lock, where SQLite's busy handler
sleeps between tries. Each request awaits its own answer, given only after the commit; a
delivery that fails is answered alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from mlops_oncall.intake.body import endpoint, refuse
from mlops_oncall.intake.keys import METRICS, SESSION
from mlops_oncall.store.errors import StoreError

T = TypeVar("T")
# deliveries in one transaction at most: a batch's rows stay small, its commit soon
MAX_BATCH = 64


async def write(request: web.Request, fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread; its result once it committed (counted as stored, with its
    latency). A StoreError is answered 503 with the store's one-line reason (redacted)."""
    started = time.perf_counter()
    try:
        result = await asyncio.to_thread(fn)
    except StoreError as exc:
        _refuse_store(request, exc)
    request.app[METRICS].stored(endpoint(request), time.perf_counter() - started)
    return result


def _refuse_store(request: web.Request, exc: StoreError):
    reason = request.app[SESSION].redactor.text(str(exc))
    refuse(request, 503, "store_failed", f"the store could not record it: {reason}")


class GroupCommit:
    """Batches of ``store_many(items) -> [result or exception, ...]`` on one writer thread.
    While a batch is being stored the next requests wait; the next batch takes them all."""

    def __init__(self, store_many: Callable[[list[Any]], list[Any]], *, max_batch: int = MAX_BATCH):
        self._store_many = store_many
        self._max = max_batch
        self._waiting: list[tuple[Any, asyncio.Future]] = []
        self._running: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="group-commit")

    async def submit(self, item: Any) -> Any:
        """``item``'s result once its batch committed; its exception raised."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._running is None:
            self._running = asyncio.create_task(self._drain(), name="group commit")
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch = self._waiting[: self._max]
                del self._waiting[: self._max]
                try:
                    results = await loop.run_in_executor(
                        self._thread, self._store_many, [item for item, _ in batch]
                    )
                except Exception as exc:  # a bug: every request of the batch learns it
                    results = [exc] * len(batch)
                for (_, future), got in zip(batch, results, strict=True):
                    if future.done():  # its request went away
                        continue
                    if isinstance(got, BaseException):
                        future.set_exception(got)
                    else:
                        future.set_result(got)
        finally:
            self._running = None

    async def close(self) -> None:
        """Wait for the batch in flight (the daemon's shutdown), then end the thread."""
        if self._running is not None:
            await asyncio.shield(self._running)
        self._thread.shutdown(wait=True)


async def grouped(request: web.Request, commit: GroupCommit, item: Any) -> Any:
    """``item`` stored through ``commit``, counted and timed like ``write``'s."""
    started = time.perf_counter()
    try:
        result = await commit.submit(item)
    except StoreError as exc:
        _refuse_store(request, exc)
    request.app[METRICS].stored(endpoint(request), time.perf_counter() - started)
    return result


def group_commit(key: web.AppKey[GroupCommit], store_many: Callable[[web.Application], Any]):
    """A cleanup context putting a GroupCommit of ``store_many(app)`` at ``app[key]`` while
    the app runs."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        app[key] = GroupCommit(store_many(app))
        yield
        await app[key].close()

    return context
