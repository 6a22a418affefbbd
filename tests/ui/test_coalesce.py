"""ui/coalesce.one_at_a_time: the re-reads a storm of store notifications asks for, folded
into one run in flight and one more after it, per object; an error frees the next call."""

from __future__ import annotations

import threading
import time

import pytest

from mlops_oncall.ui.coalesce import one_at_a_time


class Reader:
    def __init__(self) -> None:
        self.runs = 0
        self.inside = threading.Event()
        self.go_on = threading.Event()
        self.fail = False

    @one_at_a_time
    def reread(self) -> None:
        self.runs += 1
        if self.runs == 1:
            self.inside.set()
            assert self.go_on.wait(10)
        if self.fail:
            raise RuntimeError("the store went away")


def test_calls_while_one_runs_make_one_more_run():
    r = Reader()
    first = threading.Thread(target=r.reread)
    first.start()
    assert r.inside.wait(10)
    for _ in range(50):  # each returns at once: the running read will read again
        r.reread()
    assert r.runs == 1
    r.go_on.set()
    first.join(10)
    assert r.runs == 2
    r.reread()  # idle again: runs now
    assert r.runs == 3


def test_each_object_has_its_own_turn():
    a, b = Reader(), Reader()
    t = threading.Thread(target=a.reread)
    t.start()
    assert a.inside.wait(10)
    b.go_on.set()
    b.reread()  # not held up by a's read
    assert b.runs == 1
    a.go_on.set()
    t.join(10)


def test_an_error_frees_the_turn():
    r = Reader()
    r.go_on.set()
    r.fail = True
    with pytest.raises(RuntimeError):
        r.reread()
    r.fail = False
    r.reread()
    assert r.runs == 2


def test_a_folded_run_starts_a_period_after_the_previous_start(monkeypatch):
    """During a storm the reads do not follow each other back to back: the folded run waits
    until MIN_PERIOD_S after the previous one started (a lower bound, never a speed)."""
    from mlops_oncall.ui import coalesce

    monkeypatch.setattr(coalesce, "MIN_PERIOD_S", 0.3)
    starts: list[float] = []
    r = Reader()
    original = Reader.reread.__wrapped__

    def timed(self):
        starts.append(time.monotonic())
        original(self)

    monkeypatch.setattr(Reader, "reread", coalesce.one_at_a_time(timed))
    first = threading.Thread(target=r.reread)
    first.start()
    assert r.inside.wait(10)
    r.reread()
    r.go_on.set()
    first.join(10)
    assert len(starts) == 2
    assert starts[1] - starts[0] >= 0.3
