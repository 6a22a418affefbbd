"""The monitor: the poller on its own thread, batched updates, history kept in the store."""

from __future__ import annotations

import threading

from mlops_oncall.checks.monitor import Monitor, first_spread_for
from mlops_oncall.store.checks_history import rollups, transitions
from mlops_oncall.store.db import open_store
from tests.checks.helpers import load_ok
from tests.checks.servers import Reply


def test_first_polls_go_out_at_once_for_a_few_checks_and_spread_for_many():
    assert first_spread_for(13) == 0.0
    assert first_spread_for(50) == 0.0
    assert first_spread_for(200) == 2.0
    assert first_spread_for(5000) == 10.0


def test_updates_arrive_in_batches_and_history_is_kept(tmp_path, serve):
    srv = serve({"/ok": Reply(200, {"ready": True}), "/bad": Reply(503, "no")})
    cs = load_ok(
        tmp_path,
        f"""
        defaults: {{interval: 50ms, timeout: 1s}}
        checks:
          - {{id: a, url: "{srv.url}/ok", conditions: ["[BODY].ready == true"]}}
          - {{id: b, url: "{srv.url}/bad", service: api, thresholds: {{down_after: 1}}}}
        """,
    )
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    batches: list[tuple[list, list]] = []
    both_seen = threading.Event()

    def on_update(views, moved):
        batches.append((views, moved))
        if {v.check_id for b in batches for v in b[0]} == {"a", "b"}:
            both_seen.set()

    mon = Monitor(cs, store=store, on_update=on_update, flush_every=0.05, rollup_every=0.1)
    mon.start()
    try:
        assert mon.wait_first_round(5)
        assert both_seen.wait(5)
        views = {v.check_id: v for v in mon.views()}
        assert views["a"].last.state == "up"
        assert views["b"].state == "down"
        # a view handed to the UI carries a short ring (the sparkline), not an hour of results
        assert max(len(v.ring) for b in batches for v in b[0]) <= 20
        # probe_now runs one probe on the monitor's loop without touching the check's state
        probed = mon.probe_now("b", timeout=5)
        assert probed.status == 503
    finally:
        mon.stop()
    kept = transitions(store, check_id="b")
    assert [(t.from_state, t.to_state) for t in kept] == [("unknown", "down")]
    assert kept[0].service == "api"
    hours = {r.check_id: r for r in rollups(store)}
    assert hours["a"].polls >= 1 and hours["b"].down >= 1
    store.close()
