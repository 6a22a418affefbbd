"""A reloaded checks file reaches a running monitor: unchanged checks keep their state,
changed and added ones start over at once, removed ones stop being polled."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from mlops_oncall.checks.monitor import Monitor
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_ok
from tests.checks.servers import Reply


def _checks(tmp_path, srv, *entries: str):
    body = "\n".join(f"  - {e}" for e in entries)
    text = f"defaults: {{interval: 50ms, timeout: 1s, thresholds: {{down_after: 1, degraded_after: 1, recover_after: 1}}}}\nchecks:\n{body}\n"
    return load_ok(tmp_path, text.replace("URL", srv.url))


def test_replace_keeps_unchanged_state_and_polls_added_and_changed(tmp_path, serve):
    srv = serve(
        {
            "/ok": Reply(200, "ok"),
            "/bad": Reply(503, "no"),
            "/new": Reply(200, "n"),
            "/gone": Reply(200, "g"),
        }
    )
    first = _checks(
        tmp_path,
        srv,
        '{id: keep, url: "URL/bad"}',
        '{id: gone, url: "URL/gone"}',
        '{id: moved, url: "URL/bad"}',
    )
    seen: dict[str, list] = {}
    lock = threading.Lock()
    got = {"down": threading.Event(), "new": threading.Event(), "moved-up": threading.Event()}

    def on_update(views, _transitions):
        with lock:
            for v in views:
                seen.setdefault(v.check_id, []).append(v)
                if v.check_id == "keep" and v.state == "down":
                    got["down"].set()
                if v.check_id == "new" and v.last is not None:
                    got["new"].set()
                if v.check_id == "moved" and v.state == "up":
                    got["moved-up"].set()

    mon = Monitor(first, on_update=on_update, flush_every=0.05).start()
    try:
        assert mon.wait_first_round(5) and got["down"].wait(5)
        keep_since = {v.check_id: v for v in mon.views()}["keep"].since
        second = _checks(
            tmp_path,
            srv,
            '{id: keep, url: "URL/bad"}',
            '{id: moved, url: "URL/ok"}',
            '{id: new, url: "URL/new"}',
        )
        added, removed, changed = mon.replace(second)
        assert (added, removed, changed) == (["new"], ["gone"], ["moved"])
        assert got["new"].wait(5) and got["moved-up"].wait(5)
        views = {v.check_id: v for v in mon.views()}
        assert set(views) == {"keep", "moved", "new"}
        assert views["keep"].state == "down" and views["keep"].since == keep_since
        assert mon.spec("new") is not None and mon.spec("gone") is None

        # the removed check stops: while "new" is polled five more times, "gone" at most
        # finishes the one probe that was in flight
        def count(path):
            with srv.lock:
                return sum(1 for r in srv.requests if r[1] == path)

        gone_then, new_then = count("/gone"), count("/new")
        tick = threading.Event()
        for _ in range(200):  # bounded: 10 s at most
            if count("/new") >= new_then + 5:
                break
            tick.wait(0.05)
        assert count("/new") >= new_then + 5
        assert count("/gone") <= gone_then + 1
    finally:
        mon.stop()
    # no view of the removed check arrives after the replace
    assert "gone" not in {v.check_id for v in mon.views()}


def test_a_maintenance_window_added_by_a_reload_is_ticked(tmp_path, serve):
    """Without any window the maintenance ticker is not started; a reload that adds one
    starts it, so the window opens on time between polls (here, an hour apart)."""
    srv = serve({"/ok": Reply(200, "ok")})
    clock = FixedClock(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    first = _checks(tmp_path, srv, '{id: a, url: "URL/ok", interval: 1h}')
    mon = Monitor(first, clock=clock, flush_every=0.05).start()

    def state() -> str:
        return {v.check_id: v for v in mon.views()}["a"].state

    tick = threading.Event()

    def until(wanted: str) -> None:
        for _ in range(100):  # bounded: 5 s at most
            if state() == wanted:
                return
            tick.wait(0.05)

    try:
        assert mon.wait_first_round(5)
        window = '[{start: "03:00", duration: 1h}]'
        mon.replace(
            _checks(tmp_path, srv, f'{{id: a, url: "URL/ok", interval: 1h, maintenance: {window}}}')
        )
        until("up")  # the changed check is polled at once, outside its window
        assert state() == "up"
        clock.set(datetime(2026, 11, 28, 3, 30, tzinfo=UTC))
        until("maintenance")
        assert state() == "maintenance"
    finally:
        mon.stop()
