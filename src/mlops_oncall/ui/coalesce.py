"""Re-reads that follow the store's notifications, coalesced: at most one run of a method in
flight per object, and the calls that arrive while it runs make one more run after it.

An alert storm sends hundreds of notifications a minute (one per delivery). Textual's
``exclusive`` only flags an earlier thread worker as cancelled, it keeps running, so each
notification started one more full read of the store in a thread of its own, all sharing the
GIL with the UI loop: the cursor waited behind them (bench/bench_alert_storm.py). Put under
``@work(thread=True)``; what the last run read is what the screen shows, at most MIN_PERIOD_S
late while notifications keep coming."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any


class _Turn:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy = False
        self.again = False


_TURNS_LOCK = threading.Lock()


# a folded run starts this long after the previous one started: during a storm the reads
# would otherwise follow each other back to back, a thread always busy beside the UI loop
MIN_PERIOD_S = 0.5


def one_at_a_time(method: Callable[..., None]) -> Callable[..., None]:
    """``method(self)`` runs at most once at a time per ``self``; calls meanwhile are folded
    into one more run once it returns (at least MIN_PERIOD_S after the previous start)."""
    attr = f"_turn_{method.__name__}"

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> None:
        with _TURNS_LOCK:
            turn = self.__dict__.get(attr)
            if turn is None:
                turn = self.__dict__[attr] = _Turn()
        with turn.lock:
            if turn.busy:
                turn.again = True
                return
            turn.busy = True
        try:
            while True:
                started = time.monotonic()
                method(self, *args, **kwargs)
                with turn.lock:
                    if not turn.again:
                        turn.busy = False
                        return
                # calls arriving during this pause fold into the run after it, too
                time.sleep(max(0.0, started + MIN_PERIOD_S - time.monotonic()))
                with turn.lock:
                    turn.again = False
        except BaseException:
            with turn.lock:
                turn.busy = turn.again = False
            raise

    return run
