"""Drill time. A drill's Session is built with its clock from the start, so everything the
drill records (incident events, check history) is stamped in drill time and a score does not
depend on the speed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class DrillClock:
    """Drill time: wall time since the start times ``speed``, plus jumps over idle stretches.

    A virtual clock (headless drills) moves only by jumps, so a slow probe on a busy machine
    cannot shift when anything happens: a headless drill replays to the second.
    """

    def __init__(self, speed: float = 1.0, start: datetime | None = None, *, virtual: bool = False):
        self.virtual = virtual
        self.speed = 0.0 if virtual else speed
        self.start = start or datetime.now(UTC)
        self._mono = time.monotonic()
        self._jumped = 0.0
        self._lock = threading.Lock()

    @classmethod
    def for_mode(cls, mode: str, speed: float = 1.0) -> DrillClock:
        """Virtual for a headless drill; paced at ``speed`` for the TUI and live drills."""
        return cls(speed, virtual=mode == "headless")

    def offset(self) -> float:
        with self._lock:
            return (time.monotonic() - self._mono) * self.speed + self._jumped

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset())

    def jump_to(self, offset: float) -> None:
        with self._lock:
            current = (time.monotonic() - self._mono) * self.speed + self._jumped
            if offset > current:
                self._jumped += offset - current
