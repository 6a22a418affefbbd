"""The state machine: thresholds, flapping, maintenance, blocked_by; all on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_oncall.checks.conditions import ConditionResult
from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.spec import Maintenance, Thresholds
from mlops_oncall.checks.state import Board, CheckState, RingEntry
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_ok

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
STEP = timedelta(seconds=30)


class Feed:
    """Raw results for one check, one poll interval apart on a fixed clock."""

    def __init__(self, check_id="a", clock=None):
        self.check_id = check_id
        self.clock = clock or FixedClock(T0)

    def result(self, state: str) -> Result:
        at = self.clock.advance(STEP)
        failing = state != "up"
        conditions = [
            ConditionResult(
                "[BODY].drift_score < 0.3",
                "fail" if state == "down" else "warn",
                not failing,
                0.42 if failing else 0.1,
                "[BODY].drift_score = 0.42, expected < 0.3" if failing else "ok",
            )
        ]
        return Result(
            check_id=self.check_id,
            state=state,
            error_class="condition" if failing else None,
            message="[BODY].drift_score = 0.42, expected < 0.3" if failing else "ok",
            latency_ms=12.0,
            status=200,
            conditions=conditions,
            observed_at=at,
        )


def run(machine: CheckState, feed: Feed, states: str):
    """Feed a string of u/d/D (up/degraded/down); return (state after each, transitions)."""
    names = {"u": "up", "d": "degraded", "D": "down"}
    seen, transitions = [], []
    for ch in states:
        transitions += machine.observe(feed.result(names[ch]))
        seen.append(machine.state)
    return seen, transitions


def machine(**thresholds) -> CheckState:
    return CheckState("a", Thresholds(**thresholds), since=T0)


def test_first_up_is_adopted_and_failures_need_consecutive_results():
    m, feed = machine(), Feed()
    seen, transitions = run(m, feed, "uDDDuu")
    assert seen == ["up", "up", "degraded", "down", "down", "up"]
    assert [(t.from_state, t.to_state) for t in transitions] == [
        ("unknown", "up"),
        ("up", "degraded"),
        ("degraded", "down"),
        ("down", "up"),
    ]
    first_fail = T0 + 2 * STEP
    down = transitions[2]
    assert down.at == T0 + 4 * STEP
    assert down.first_failure_at == first_fail  # the incident's "detected"
    assert down.previous_since == T0 + 3 * STEP
    assert down.error_class == "condition"
    assert down.observed == {"[BODY].drift_score < 0.3": 0.42}
    assert down.alarm
    assert transitions[3].to_state == "up" and not transitions[3].alarm
    assert m.first_failure_at is None and m.since == T0 + 6 * STEP


def test_flapping_does_not_move_the_state():
    m, feed = machine(), Feed()
    seen, transitions = run(m, feed, "uDuDuDuDuD")
    assert set(seen) == {"up"}
    assert [(t.from_state, t.to_state) for t in transitions] == [("unknown", "up")]
    assert len(m.ring) == 10  # every raw flip is kept for the sparkline, not as a transition


def test_flapping_while_failing_keeps_the_first_failure_time():
    m, feed = machine(), Feed()
    seen, transitions = run(m, feed, "uDDuDDD")
    assert seen == ["up", "up", "degraded", "degraded", "degraded", "degraded", "down"]
    assert transitions[-1].first_failure_at == T0 + 2 * STEP


def test_degraded_and_recovery_thresholds():
    m, feed = machine(degraded_after=3, recover_after=3), Feed()
    seen, _ = run(m, feed, "udduddduuuu")
    assert seen == [
        "up", "up", "up", "up", "up", "up", "degraded", "degraded", "degraded", "up", "up",
    ]  # fmt: skip


def test_from_down_partial_recovery_goes_to_degraded():
    m, feed = machine(), Feed()
    seen, transitions = run(m, feed, "DDDdduu")
    assert seen == ["unknown", "degraded", "down", "down", "degraded", "degraded", "up"]
    assert [(t.from_state, t.to_state) for t in transitions] == [
        ("unknown", "degraded"),
        ("degraded", "down"),
        ("down", "degraded"),
        ("degraded", "up"),
    ]


def test_down_after_one_means_immediately():
    m, feed = machine(degraded_after=1, down_after=1, recover_after=1), Feed()
    seen, _ = run(m, feed, "uDuD")
    assert seen == ["up", "down", "up", "down"]


def test_ring_is_bounded_and_preallocated():
    m, feed = CheckState("a", Thresholds(), ring_size=5), Feed()
    before = (m.ring._at.buffer_info()[0], len(m.ring._code))
    run(m, feed, "u" * 48 + "DD")
    assert len(m.ring) == 5
    entries = m.ring.entries()
    assert [e.state for e in entries] == ["up", "up", "up", "down", "down"]
    assert entries[-1] == RingEntry(T0 + 50 * STEP, "down", 12.0, "condition")
    assert entries[0].at == T0 + 46 * STEP
    # the same arrays from the first poll on: filling the ring allocates nothing
    assert (m.ring._at.buffer_info()[0], len(m.ring._code)) == before


def test_ring_keeps_missing_latency():
    from mlops_oncall.checks.state import Ring

    ring = Ring(3)
    ring.append(T0, "down", None, "timeout")
    ring.append(T0 + STEP, "maintenance", 4.5, None)
    assert ring.entries() == (
        RingEntry(T0, "down", None, "timeout"),
        RingEntry(T0 + STEP, "maintenance", 4.5, None),
    )
    snapshot = ring.copy()
    ring.append(T0 + 2 * STEP, "up", 1.0, None)
    assert len(snapshot) == 2 and len(ring) == 3


def test_maintenance_window_enters_and_leaves_and_resumes():
    window = Maintenance(every=["wednesday"], start="10:02", duration="2m")
    m = CheckState("a", Thresholds(), [window], since=T0)
    feed = Feed()
    seen, transitions = run(m, feed, "uuDDDDDDuu")
    # polls at 10:00:30 … 10:05:00; the window is 10:02:00-10:04:00
    assert seen == [
        "up", "up", "up", "maintenance", "maintenance", "maintenance", "maintenance",
        "down", "down", "up",
    ]  # fmt: skip
    assert [(t.from_state, t.to_state, t.at.strftime("%H:%M:%S")) for t in transitions] == [
        ("unknown", "up", "10:00:30"),
        ("up", "maintenance", "10:02:00"),
        ("maintenance", "up", "10:04:00"),
        ("up", "down", "10:04:00"),  # the failures during the window count at once
        ("down", "up", "10:05:00"),
    ]
    assert transitions[1].message == "maintenance window until 2026-03-04T10:04:00Z"
    assert not transitions[1].alarm


def test_tick_enters_maintenance_without_a_result():
    window = Maintenance(start="10:00", duration="1h")
    m = CheckState("a", Thresholds(), [window], since=T0)
    t = m.tick(T0 + timedelta(minutes=5))
    assert (t.from_state, t.to_state) == ("unknown", "maintenance")
    assert m.maintenance_until == T0 + timedelta(hours=1)
    assert m.tick(T0 + timedelta(minutes=6)) is None
    back = m.tick(T0 + timedelta(hours=1))
    assert (back.from_state, back.to_state, back.message) == (
        "maintenance",
        "unknown",
        "maintenance window ended",
    )


def test_blocked_by_a_dependency_that_is_down(tmp_path):
    cs = load_ok(
        tmp_path,
        """
        defaults: {thresholds: {degraded_after: 1, down_after: 1, recover_after: 1}}
        checks:
          - {id: fraud, preset: oip_v2, base_url: "http://127.0.0.1:1", model: fraud}
          - {id: api, url: "http://127.0.0.1:2/", depends_on: [fraud.model-ready]}
        """,
    )
    clock = FixedClock(T0)
    board = Board(cs, clock=clock)
    feeds = {cid: Feed(cid, clock) for cid in cs.ids()}

    def poll(cid, state):
        return board.observe(feeds[cid].result(state))

    for cid in cs.ids():
        poll(cid, "up")
    # the server goes down: its own checks alarm once, dependents do not
    [live] = poll("fraud.live", "down")
    assert live.alarm and live.blocked_by == ()
    [ready] = poll("fraud.ready", "down")
    assert ready.blocked_by == ("fraud.live",) and not ready.alarm
    [model] = poll("fraud.model-ready", "down")
    assert model.blocked_by == ("fraud.ready",) and not model.alarm
    [api] = poll("api", "down")
    assert api.to_state == "down" and api.blocked_by == ("fraud.model-ready",)
    # each keeps its own state
    assert board.view("api").state == "down"
    assert board.view("api").blocked_by == ("fraud.model-ready",)
    # the server recovers: blocked_by clears
    for cid in ("fraud.live", "fraud.ready", "fraud.model-ready"):
        poll(cid, "up")
    assert board.view("api").blocked_by == ()
    assert board.view("api").state == "down"


def test_dependency_failing_in_the_same_round_holds_back_the_alarm(tmp_path):
    cs = load_ok(
        tmp_path,
        """
        checks:
          - {id: db, url: "http://127.0.0.1:1/"}
          - {id: api, url: "http://127.0.0.1:2/", depends_on: [db]}
        """,
    )
    clock = FixedClock(T0)
    board = Board(cs, clock=clock)
    feeds = {cid: Feed(cid, clock) for cid in cs.ids()}
    for _ in range(3):
        board.observe(feeds["db"].result("down"))
        moves = board.observe(feeds["api"].result("down"))
        for t in moves:
            # db's latest poll was down, so api never alarms, even before db crossed
            assert t.blocked_by == ("db",) and not t.alarm


def test_views_and_json():
    m, feed = machine(), Feed()
    _, transitions = run(m, feed, "DDD")
    data = transitions[-1].to_json()
    assert data == {
        "check_id": "a",
        "service": None,
        "from": "degraded",
        "to": "down",
        "at": "2026-03-04T10:01:30Z",
        "previous_since": "2026-03-04T10:01:00Z",
        "error_class": "condition",
        "message": "[BODY].drift_score = 0.42, expected < 0.3",
        "observed": {"[BODY].drift_score < 0.3": 0.42},
        "first_failure_at": "2026-03-04T10:00:30Z",
        "blocked_by": [],
        "alarm": True,
    }


def test_a_short_ring_keeps_the_newest_results_and_snapshots_stand_alone():
    from mlops_oncall.checks.state import Ring

    ring = Ring(3)
    for i in range(8):  # wrapped: the ring holds results 5..7
        ring.append(
            T0 + i * STEP, "up" if i % 2 else "down", float(i), None if i % 2 else "timeout"
        )
    tail = ring.copy()
    assert tail.size == 3
    assert [e.latency_ms for e in tail.entries()] == [5.0, 6.0, 7.0]
    assert tail.entries()[1] == RingEntry(T0 + 6 * STEP, "down", 6.0, "timeout")
    tail.append(T0 + 8 * STEP, "up", 8.0, None)  # a snapshot is a ring of its own
    assert [e.latency_ms for e in tail.entries()] == [6.0, 7.0, 8.0]
    assert [e.latency_ms for e in ring.entries()][-1] == 7.0
    short = Ring(3)
    short.append(T0, "up", 1.0, None)
    assert [e.latency_ms for e in short.copy().entries()] == [1.0]


def test_board_views_carry_a_short_ring_when_asked(tmp_path):
    from dataclasses import replace

    checks = load_ok(tmp_path, "checks:\n  - {id: a, url: 'http://127.0.0.1:9/'}\n")
    board, short_board = Board(checks), Board(checks, ring_size=5)
    feed = Feed()
    for i in range(40):
        result = replace(feed.result("u"), latency_ms=float(i))
        board.observe(result)
        short_board.observe(result)
    assert len(board.view("a").ring) == 40
    short = short_board.view("a").ring
    assert [e.latency_ms for e in short] == [35.0, 36.0, 37.0, 38.0, 39.0]
