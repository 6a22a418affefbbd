"""The poller against real servers: intervals, no self-overlap, limits, sinks, clean stop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

import pytest

from mlops_oncall.checks.poller import Poller, run_once
from mlops_oncall.checks.probe import Prober
from tests.checks.helpers import load_ok
from tests.checks.servers import Reply


class Gauge:
    """A route that answers after ``delay`` and records how many requests overlapped."""

    def __init__(self, delay: float):
        self.delay = delay
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, handler):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay)  # the server is slow; the test waits on events, not on this
        with self.lock:
            self.active -= 1
        return Reply(200, {"ok": True})


class Recorder:
    """A sink that records everything and lets a test wait for a condition."""

    def __init__(self):
        self.results = defaultdict(list)
        self.transitions = []
        self._waiters: list[tuple] = []

    def on_result(self, result, view):
        self.results[result.check_id].append((result, view))
        self._wake()

    def on_transition(self, transition):
        self.transitions.append(transition)
        self._wake()

    def _wake(self):
        for predicate, event in self._waiters:
            if predicate():
                event.set()

    async def until(self, predicate, timeout=5.0):
        if predicate():
            return
        event = asyncio.Event()
        self._waiters.append((predicate, event))
        await asyncio.wait_for(event.wait(), timeout)

    def count(self, check_id):
        return len(self.results[check_id])


def poller(cs, *sinks, **kw):
    kw.setdefault("first_spread", 0)
    return Poller(cs, sinks=sinks, redactor=cs.redactor, **kw)


async def test_each_check_runs_on_its_interval_and_never_overlaps_itself(tmp_path, serve):
    slow = Gauge(0.15)
    srv = serve({"/slow": slow, "/fast": Reply(200, "ok")})
    cs = load_ok(
        tmp_path,
        f"""
        defaults: {{timeout: 0.5s}}
        checks:
          - {{id: slow, url: "{srv.url}/slow", interval: 10ms}}
          - {{id: fast, url: "{srv.url}/fast", interval: 20ms}}
        """,
    )
    rec = Recorder()
    async with poller(cs, rec):
        await rec.until(lambda: rec.count("slow") >= 4)
    assert slow.peak == 1  # an interval shorter than the probe never makes it overlap itself
    # the fast check kept its pace while the slow one was busy
    assert rec.count("fast") >= 8


async def test_a_hung_check_delays_no_other(tmp_path, serve, blackhole):
    srv = serve({"/ok": Reply(200, "ok")})
    cs = load_ok(
        tmp_path,
        f"""
        defaults: {{timeout: 0.8s}}
        checks:
          - {{id: hung, url: "{blackhole.url}/", interval: 10ms}}
          - {{id: ok, url: "{srv.url}/ok", interval: 10ms}}
        """,
    )
    rec = Recorder()
    async with poller(cs, rec):
        await rec.until(lambda: rec.count("ok") >= 10)
        hung = rec.count("hung")
    # ten polls of "ok", one after another, while the hung check's first probe still waits
    assert hung == 0


async def test_global_concurrency_limit(tmp_path, serve):
    gauge = Gauge(0.05)
    servers = [serve({"/g": gauge}) for _ in range(3)]
    checks = "\n".join(
        f'  - {{id: c{i}, url: "{servers[i % 3].url}/g", interval: 10ms}}' for i in range(9)
    )
    cs = load_ok(tmp_path, f"defaults: {{timeout: 1s}}\nchecks:\n{checks}\n")
    rec = Recorder()
    async with poller(cs, rec, concurrency=2, per_host=8):
        await rec.until(lambda: sum(rec.count(f"c{i}") for i in range(9)) >= 18)
    assert gauge.peak == 2


async def test_per_host_limit(tmp_path, serve):
    busy, other = Gauge(0.05), Gauge(0.05)
    srv_a, srv_b = serve({"/g": busy}), serve({"/g": other})
    checks = "\n".join(
        [f'  - {{id: a{i}, url: "{srv_a.url}/g", interval: 10ms}}' for i in range(4)]
        + [f'  - {{id: b{i}, url: "{srv_b.url}/g", interval: 10ms}}' for i in range(4)]
    )
    cs = load_ok(tmp_path, f"defaults: {{timeout: 1s}}\nchecks:\n{checks}\n")
    rec = Recorder()
    async with poller(cs, rec, concurrency=16, per_host=1):
        await rec.until(lambda: all(rec.count(f"b{i}") >= 2 for i in range(4)))
    assert busy.peak == 1 and other.peak == 1


async def test_transitions_reach_the_sinks(tmp_path, serve):
    state = {"healthy": True}

    def flip(handler):
        return Reply(200 if state["healthy"] else 503, "ok" if state["healthy"] else "loading")

    srv = serve({"/ready": flip})
    cs = load_ok(
        tmp_path,
        f"""
        defaults: {{timeout: 0.5s, thresholds: {{degraded_after: 2, down_after: 2, recover_after: 2}}}}
        checks:
          - {{id: m, url: "{srv.url}/ready", interval: 10ms, conditions: ["[STATUS] == 200"]}}
        """,
    )
    rec = Recorder()
    async with poller(cs, rec):
        await rec.until(lambda: any(t.to_state == "up" for t in rec.transitions))
        state["healthy"] = False
        await rec.until(lambda: any(t.to_state == "down" for t in rec.transitions))
        state["healthy"] = True
        await rec.until(
            lambda: (
                [t.to_state for t in rec.transitions][-1:] == ["up"] and len(rec.transitions) > 2
            )
        )
    moves = [(t.from_state, t.to_state) for t in rec.transitions]
    # down_after equals degraded_after, so the check goes straight to down
    assert moves == [("unknown", "up"), ("up", "down"), ("down", "up")]
    down = rec.transitions[1]
    assert (down.error_class, down.message) == (
        "http_status",
        "[STATUS] = 503, expected == 200 (body: 'loading')",
    )
    assert down.observed == {"[STATUS] == 200": 503}
    assert down.first_failure_at <= down.at
    # the view handed with each result carries the machine's state and its ring
    last_result, last_view = rec.results["m"][-1]
    assert last_view.state == "up" and last_view.ring[-1].state == last_result.state


async def test_stop_is_clean_and_final(tmp_path, serve, blackhole):
    srv = serve({"/ok": Reply(200, "ok")})
    cs = load_ok(
        tmp_path,
        f"""
        defaults: {{timeout: 5s}}
        checks:
          - {{id: ok, url: "{srv.url}/ok", interval: 10ms}}
          - {{id: hung, url: "{blackhole.url}/", interval: 10ms}}
        """,
    )
    rec = Recorder()
    p = poller(cs, rec)
    await p.start()
    await rec.until(lambda: rec.count("ok") >= 3)
    started = time.monotonic()
    await p.stop()
    assert time.monotonic() - started < 1.0  # the hung probe is cancelled, not awaited
    assert p._tasks == [] and p.prober._client is None
    count = rec.count("ok")
    await asyncio.sleep(0.05)  # nothing is scheduled any more: give it a chance to misbehave
    assert rec.count("ok") == count
    await p.stop()  # twice is fine


async def test_a_failing_sink_does_not_stop_polling(tmp_path, serve):
    srv = serve({"/ok": Reply(200, "ok")})
    cs = load_ok(tmp_path, f'checks: [{{id: ok, url: "{srv.url}/ok", interval: 10ms}}]\n')

    class Broken:
        def on_result(self, result, view):
            raise RuntimeError("disk full")

        def on_transition(self, transition):
            raise RuntimeError("disk full")

    rec = Recorder()
    async with poller(cs, Broken(), rec) as p:
        await rec.until(lambda: rec.count("ok") >= 3)
    assert p.sink_errors >= 3


async def test_run_once_keeps_order_and_applies_limits(tmp_path, serve):
    gauge = Gauge(0.05)
    srv = serve({"/g": gauge})
    checks = "\n".join(f'  - {{id: c{i}, url: "{srv.url}/g"}}' for i in range(6))
    cs = load_ok(tmp_path, f"checks:\n{checks}\n")
    async with Prober() as prober:
        results = await run_once(list(cs), prober, concurrency=3, per_host=2)
    assert [r.check_id for r in results] == [f"c{i}" for i in range(6)]
    assert all(r.state == "up" for r in results)
    assert gauge.peak == 2


@pytest.mark.parametrize("n", [200])
async def test_many_checks_share_one_client(tmp_path, serve, n):
    srv = serve({"/ok": Reply(200, "ok")})
    checks = "\n".join(f'  - {{id: c{i}, url: "{srv.url}/ok", interval: 1h}}' for i in range(n))
    cs = load_ok(tmp_path, f"checks:\n{checks}\n")
    rec = Recorder()
    async with poller(cs, rec, concurrency=16) as p:
        await rec.until(lambda: sum(len(v) for v in rec.results.values()) >= n, timeout=20)
        client = p.prober.client
    assert len(rec.results) == n
    assert all(v[0][0].state == "up" for v in rec.results.values())
    assert client is not None
