"""Clocks: the real one, a fixed one for tests, and a scaled one for drills.

Every timestamp the app records comes from a Clock, so tests and drills control time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to; thread-safe."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


class ScaledClock:
    """Wall time since ``start``, multiplied by ``speed``, plus any explicit jumps."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None):
        self.speed = speed
        self._origin = start or datetime.now(UTC)
        self._mono = time.monotonic()
        self._jumped = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._mono) * self.speed
            return self._origin + timedelta(seconds=elapsed) + self._jumped

    def jump(self, delta: timedelta) -> None:
        with self._lock:
            self._jumped += delta


SYSTEM = SystemClock()
