"""The scheduler: every check on its own interval, never overlapping itself, within limits.

Each check is due again one interval after its probe started (with jitter, so checks added
together drift apart). A slow check delays nobody else: while its probe runs it holds one of
the ``concurrency`` workers and one slot of its host's limit, nothing more. Results and threshold transitions go to sinks (``on_result``,
``on_transition``): the store's roll-ups and transitions, and the TUI, subscribe that way.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol

from mlops_oncall.checks.probe import Prober, Result
from mlops_oncall.checks.redact import NULL, Redactor
from mlops_oncall.checks.spec import CheckSpec
from mlops_oncall.checks.state import RING_SIZE, Board, CheckView, Transition
from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.timestamps import rfc3339

log = logging.getLogger(__name__)

CONCURRENCY = 64  # bench/poll/README.md: where httpx's pool stops getting slower per poll
PER_HOST = 8  # so a thousand checks on one model server do not stampede it
JITTER = 0.1  # ±10% of the interval
FIRST_SPREAD = 10.0  # the first polls spread over at most this many seconds


def tune_gc() -> None:
    """For a process that mostly polls (``check watch``): fewer, larger garbage collections.

    Each poll allocates a few hundred objects and keeps a handful for a while (the latest
    result, ring entries), so with the default thresholds the collector runs every few polls
    and a full collection walks every check's state: 15% of a poll's CPU at a thousand checks.
    Everything loaded so far (the check specs) is frozen out of collections altogether. This
    changes the whole process, so the poller never calls it itself.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


class Sink(Protocol):
    def on_result(self, result: Result, view: CheckView) -> None: ...

    def on_transition(self, transition: Transition) -> None: ...


class Limits:
    """A global concurrency limit and one per host; the host is taken first so a busy host
    does not hold global slots while it waits."""

    def __init__(self, concurrency: int = CONCURRENCY, per_host: int = PER_HOST):
        self.concurrency = concurrency
        self.per_host = per_host
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def run(self, spec: CheckSpec, prober: Prober) -> Result:
        key = spec.request.host_key()
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(self.per_host)
        async with host, self._global:
            return await prober.probe(spec)


def with_maintenance(spec: CheckSpec, result: Result) -> Result:
    """A raw result inside a maintenance window reads ``maintenance`` (``check run``)."""
    window = spec.maintenance_window(result.observed_at)
    if window is None:
        return result
    result.state = "maintenance"
    result.message = f"in maintenance until {rfc3339(window[1])}; probe: {result.message}"
    return result


def round_blocked_by(
    specs: Sequence[CheckSpec], results: dict[str, Result]
) -> dict[str, list[str]]:
    """For one round: each check's dependencies whose result in this round is down."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        out[spec.id] = [
            dep for dep in spec.depends_on if dep in results and results[dep].state == "down"
        ]
    return out


async def run_once(
    specs: Sequence[CheckSpec],
    prober: Prober,
    *,
    concurrency: int = CONCURRENCY,
    per_host: int = PER_HOST,
) -> list[Result]:
    """One round of every check, concurrently within the limits; results in spec order."""
    limits = Limits(concurrency, per_host)
    results = await asyncio.gather(*(limits.run(spec, prober) for spec in specs))
    return [with_maintenance(spec, r) for spec, r in zip(specs, results, strict=True)]


def _same(a: CheckSpec, b: CheckSpec) -> bool:
    """Equal as polled: the spec's fields and its resolved request (compared apart, since it
    holds secrets and is left out of the spec's equality)."""
    ra, rb = a.request, b.request
    return a == b and (ra.method, ra.url, ra.headers, ra.body) == (
        rb.method,
        rb.url,
        rb.headers,
        rb.body,
    )


class Poller:
    """Polls continuously until ``stop()``; use ``async with`` or start/stop.

    ``concurrency`` workers take due checks from one queue; a single timer moves checks from
    a heap of due times into it. Compared with a sleeping task per check behind a semaphore,
    this costs one task switch per poll instead of three, which at a thousand checks is a
    sixth of a poll's CPU (bench/poll/README.md). A check is always in exactly one place
    (the heap, the queue, its host's waiting line, or in flight), so it never overlaps itself.
    """

    def __init__(
        self,
        specs: Iterable[CheckSpec],
        *,
        sinks: Iterable[Sink] = (),
        prober: Prober | None = None,
        redactor: Redactor = NULL,
        clock: Clock = SYSTEM,
        concurrency: int = CONCURRENCY,
        per_host: int = PER_HOST,
        jitter: float = JITTER,
        first_spread: float = FIRST_SPREAD,
        rng: random.Random | None = None,
        board: Board | None = None,
        ring_size: int = RING_SIZE,
    ):
        self.specs = list(specs)
        self.sinks = list(sinks)
        self.clock = clock
        # ring_size: recent raw results kept per check, and carried by every view a sink gets
        self.board = board or Board(self.specs, clock=clock, ring_size=ring_size)
        self._own_prober = prober is None
        self.prober = prober or Prober(
            redactor=redactor,
            clock=clock,
            max_connections=concurrency,
        )
        self.concurrency = concurrency
        self.per_host = per_host
        self.jitter = jitter
        self.first_spread = first_spread
        self.rng = rng or random.Random()
        self.polls = 0
        self.sink_errors = 0
        self._tasks: list[asyncio.Task] = []
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heap: list[tuple[float, int, CheckSpec]] = []
        self._seq = 0
        self._ready: asyncio.Queue[CheckSpec] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = float("inf")
        self._host_busy: dict[str, int] = {}
        self._host_waiting: dict[str, deque[CheckSpec]] = {}
        self._in_flight: set[str] = set()
        self._current: dict[str, CheckSpec] | None = None  # set by replace()
        self.board_ring_size = ring_size

    # ---- lifecycle

    async def start(self) -> None:
        if self._tasks:
            raise RuntimeError("the poller is already running")
        loop = self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._ready = asyncio.Queue()
        now = loop.time()
        for spec in self.specs:
            spread = min(spec.interval.total_seconds(), self.first_spread)
            self._schedule(spec, now + self.rng.uniform(0, spread) if spread > 0 else now)
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"check-worker-{i}")
            for i in range(max(1, self.concurrency))
        ]
        self._tasks.append(asyncio.create_task(self._ticker(), name="check:maintenance"))

    async def stop(self) -> None:
        """Cancel the workers (and any probe in flight), close the client. Safe to call twice."""
        if self._stopping is not None:
            self._stopping.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._heap.clear()
        if self._own_prober:
            await self.prober.aclose()

    async def __aenter__(self) -> Poller:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait(self) -> None:
        """Until stop() is called (e.g. from a signal handler)."""
        assert self._stopping is not None, "start() first"
        await self._stopping.wait()

    # ---- a reloaded checks file

    def replace(self, specs: Iterable[CheckSpec]) -> tuple[list[str], list[str], list[str]]:
        """Poll ``specs`` from now on; call on the poller's loop. Returns the ids added,
        removed and changed. Unchanged checks keep their state and schedule; a changed one
        starts over and is polled at once. A removed or replaced spec still in the heap, the
        queue or in flight is dropped when it surfaces (``_current``)."""
        assert self._loop is not None
        old = {s.id: s for s in self.specs}
        new = {s.id: s for s in specs}
        added = [cid for cid in new if cid not in old]
        removed = [cid for cid in old if cid not in new]
        changed = [cid for cid in new if cid in old and not _same(old[cid], new[cid])]
        # unchanged ids keep their old spec object: it is the one scheduled
        self.specs = [
            old[cid] if cid in old and cid not in changed else s for cid, s in new.items()
        ]
        self._current = {s.id: s for s in self.specs}
        self.board.replace(self.specs, added + changed, self.board_ring_size)
        now = self._loop.time()
        for cid in added + changed:
            self._schedule(new[cid], now)
        ticking = any(t.get_name() == "check:maintenance" and not t.done() for t in self._tasks)
        if not ticking and any(s.maintenance for s in self.specs):  # the first window added
            self._tasks.append(asyncio.create_task(self._ticker(), name="check:maintenance"))
        return added, removed, changed

    def _live(self, spec: CheckSpec) -> bool:
        return self._current is None or self._current.get(spec.id) is spec

    # ---- scheduling

    def _schedule(self, spec: CheckSpec, due: float) -> None:
        assert self._loop is not None and self._ready is not None
        if due <= self._loop.time():
            self._ready.put_nowait(spec)
            return
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, spec))
        if due < self._timer_due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(due, self._release)
            self._timer_due = due

    def _release(self) -> None:
        """The timer fired: every check now due joins the queue; re-arm for the next."""
        assert self._loop is not None and self._ready is not None
        self._timer = None
        self._timer_due = float("inf")
        now = self._loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            self._ready.put_nowait(heapq.heappop(heap)[2])
        if heap:
            self._timer_due = heap[0][0]
            self._timer = self._loop.call_at(self._timer_due, self._release)

    async def _worker(self) -> None:
        assert self._loop is not None and self._ready is not None
        loop, ready = self._loop, self._ready
        while True:
            spec = await ready.get()
            if not self._live(spec):  # removed or changed by a reload
                continue
            host = spec.request.host_key()
            busy = self._host_busy.get(host, 0)
            if busy >= self.per_host:  # wait in the host's line; a finishing probe lets it in
                self._host_waiting.setdefault(host, deque()).append(spec)
                continue
            self._host_busy[host] = busy + 1
            self._in_flight.add(spec.id)
            started = loop.time()
            try:
                result = await self.prober.probe(spec)
            finally:
                self._in_flight.discard(spec.id)
                self._host_busy[host] -= 1
                waiting = self._host_waiting.get(host)
                if waiting:
                    ready.put_nowait(waiting.popleft())
            if not self._live(spec):
                continue
            self._emit(result)
            interval = spec.interval.total_seconds()
            spread = interval * self.jitter
            self._schedule(spec, started + interval + self.rng.uniform(-spread, spread))

    async def _ticker(self) -> None:
        """Maintenance windows open and close on time even between polls."""
        if not any(spec.maintenance for spec in self.specs):
            return
        while True:
            await asyncio.sleep(1.0)
            for transition in self.board.tick(self.clock.now()):
                self._notify_transition(transition)

    def _emit(self, result: Result) -> None:
        self.polls += 1
        transitions = self.board.observe(result)
        view = self.board.view(result.check_id)
        for sink in self.sinks:
            try:
                sink.on_result(result, view)
            except Exception:  # one broken subscriber must not stop the polling
                self.sink_errors += 1
                log.exception("sink %r failed on a result", sink)
        for transition in transitions:
            self._notify_transition(transition)

    def _notify_transition(self, transition: Transition) -> None:
        for sink in self.sinks:
            try:
                sink.on_transition(transition)
            except Exception:
                self.sink_errors += 1
                log.exception("sink %r failed on a transition", sink)

    def in_flight(self, check_id: str) -> bool:
        return check_id in self._in_flight
