"""The monitor: the poller on its own thread and event loop, for the TUI and `check watch`.

The UI thread never waits on a probe or a database write. Results are folded into the latest
view per check and handed over in batches (every ``flush_every`` seconds, only what changed),
so a thousand checks cost one UI update per batch, not one per poll. Threshold transitions
are persisted as they happen and hourly and per-minute roll-ups every ``rollup_every`` seconds
(60: a kill -9 loses at most a minute of polls), on a worker thread of the monitor's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from mlops_oncall.checks.poller import Poller
from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.rollup import Rollup
from mlops_oncall.checks.spec import CheckSet, CheckSpec
from mlops_oncall.checks.state import CheckView, Transition
from mlops_oncall.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

Update = Callable[[list[CheckView], list[Transition]], None]


class _Collector:
    """The poller's sink: keeps what changed since the last flush."""

    def __init__(self, expected: int = 0) -> None:
        self.lock = threading.Lock()
        self.expected = expected
        self.seen: set[str] = set()
        self.first_round = threading.Event()  # every check has reported once
        self.views: dict[str, CheckView] = {}
        self.transitions: list[Transition] = []
        self.rollup = Rollup()

    def on_result(self, result: Result, view: CheckView) -> None:
        with self.lock:
            self.views[result.check_id] = view
            self.rollup.add(result)
            if not self.first_round.is_set():
                self.seen.add(result.check_id)
                if len(self.seen) >= self.expected:
                    self.first_round.set()

    def on_transition(self, transition: Transition) -> None:
        with self.lock:
            self.transitions.append(transition)

    def take(self) -> tuple[list[CheckView], list[Transition]]:
        with self.lock:
            views, self.views = list(self.views.values()), {}
            transitions, self.transitions = self.transitions, []
        return views, transitions


def first_spread_for(n: int) -> float:
    """Spread the first polls only as much as the number of checks needs: up to 50 go out at
    once (their state is on screen a round trip after start), a thousand over 10 s, so they
    do not stampede one server."""
    return 0.0 if n <= 50 else min(10.0, n / 100)


class Monitor:
    def __init__(
        self,
        checks: CheckSet,
        *,
        store: Any = None,
        clock: Clock = SYSTEM,
        on_update: Update | None = None,
        flush_every: float = 0.25,
        rollup_every: float = 60.0,
        first_spread: float | None = None,
        ring_size: int = 20,
        on_error: Callable[[str], None] | None = None,
    ):
        self.checks = checks
        self.store = store
        self.clock = clock
        self.on_update = on_update
        self.flush_every = flush_every
        self.rollup_every = rollup_every
        self._collector = _Collector(expected=len(checks))
        kw: dict[str, Any] = {}
        if first_spread is None:
            first_spread = first_spread_for(len(checks))
        kw["first_spread"] = first_spread
        self.poller = Poller(
            list(checks),
            sinks=[self._collector],
            redactor=checks.redactor,
            clock=clock,
            ring_size=ring_size,  # the dashboard draws the last 10; an hour for 1,000 checks is 2 MB
            **kw,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self.errors: deque[str] = deque(maxlen=20)  # the latest store failures, for display
        self.on_error = on_error  # told of each store failure (`check watch` prints a warning)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Monitor:
        self._thread = threading.Thread(target=self._run, name="mlops-oncall-monitor", daemon=True)
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._stop is not None:
            loop.call_soon_threadsafe(self._stop.set)
        thread.join(timeout)
        self._loop = self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await self.poller.start()
        self._started.set()
        loop = asyncio.get_running_loop()
        last_rollup = loop.time()
        try:
            while not self._stop.is_set():
                # flush at once until the first round is in, when it comes at once (its first
                # frame of states matters); a spread first round flushes at the usual pace
                eager = self.poller.first_spread == 0 and not self._collector.first_round.is_set()
                wait = 0.02 if eager else self.flush_every
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), wait)
                await self._flush()
                if loop.time() - last_rollup >= self.rollup_every:
                    last_rollup = loop.time()
                    await self._persist_rollups(final=False)
        finally:
            await self.poller.stop()
            await self._flush()
            await self._persist_rollups(final=True)

    async def _flush(self) -> None:
        views, transitions = self._collector.take()
        if transitions and self.store is not None:
            await self._in_thread("a transition", self._record, transitions)
        if (views or transitions) and self.on_update is not None:
            try:
                self.on_update(views, transitions)
            except Exception as exc:  # the UI may be closing; polling goes on
                log.debug("on_update failed: %s", exc)

    async def _persist_rollups(self, *, final: bool) -> None:
        if self.store is None:
            return
        with self._collector.lock:
            hours = self._collector.rollup.drain(None)
            minutes = self._collector.rollup.drain_minutes()
        if hours or minutes:
            await self._in_thread("roll-ups", self._merge, hours, minutes)

    async def _in_thread(self, what: str, fn, *args) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        except Exception as exc:  # a locked or read-only database must not stop the polling
            self.errors.append(str(exc))
            if self.on_error is not None:  # said once, by the caller (not the log as well)
                self.on_error(f"could not record {what}: {exc}")
            else:
                log.warning("could not record %s: %s", what, exc)

    def _record(self, transitions: list[Transition]) -> None:
        from mlops_oncall.store.checks_history import record_transitions

        record_transitions(self.store, transitions)

    def _merge(self, hours, minutes) -> None:
        from mlops_oncall.store.checks_history import merge_minutes, merge_rollups

        merge_rollups(self.store, hours)
        # the minutes for the SLO burn rates, older ones pruned (every rollup_every: 60 s)
        merge_minutes(self.store, minutes, now=self.clock.now())

    def wait_first_round(self, timeout: float) -> bool:
        """Until every check has been polled once (the UI opens the store after that, so the
        first polls do not compete with its imports for the interpreter)."""
        return self._collector.first_round.wait(timeout)

    def replace(self, checks: CheckSet, timeout: float = 10.0) -> tuple[list, list, list]:
        """Poll a reloaded checks file from now on (called from any thread but the monitor's):
        unchanged checks keep their state, added and changed ones are polled at once, removed
        ones stop. Returns the ids added, removed and changed."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the monitor is not running")

        async def swap() -> tuple[list, list, list]:
            self.checks = checks
            self.poller.prober.redactor = checks.redactor  # secrets of new checks are masked
            with self._collector.lock:  # views of removed checks must not reach the UI
                self._collector.views = {
                    k: v for k, v in self._collector.views.items() if k in checks.specs
                }
            return self.poller.replace(list(checks))

        return asyncio.run_coroutine_threadsafe(swap(), loop).result(timeout)

    # -- queries and on-demand probes --------------------------------------------------------
    def views(self) -> list[CheckView]:
        return self.poller.board.views()

    def spec(self, check_id: str) -> CheckSpec | None:
        return self.checks.specs.get(check_id)

    def probe_now(self, check_id: str, timeout: float = 30.0) -> Result:
        """Probe one check right now (from a runbook step), without touching its state."""
        spec = self.checks.specs[check_id]
        if self._loop is None:
            raise RuntimeError("the monitor is not running")
        fut = asyncio.run_coroutine_threadsafe(self.poller.prober.probe(spec), self._loop)
        return fut.result(timeout)
