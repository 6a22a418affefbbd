"""Values that move with time, as pure functions of (seed, clock time).

Pure so that a FixedClock gives the same answer every time and an advanced clock a new one,
with no background task ticking and nothing to synchronise with in tests.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from functools import lru_cache


def iso(ts: datetime) -> str:
    """RFC 3339 UTC with ``Z``, to the second, like the timestamps real services emit."""
    return ts.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def epoch_ms(ts: datetime) -> int:
    return math.floor(ts.timestamp() * 1000)


@lru_cache(maxsize=8192)
def _noise(seed: int, stream: str, step: int) -> float:
    # A string seed is hashed with SHA-512, so this is stable across runs and Python versions.
    return random.Random(f"{seed}:{stream}:{step}").gauss(0.0, 1.0)


def walk(
    seed: int,
    stream: str,
    at: datetime,
    *,
    base: float,
    sigma: float,
    step_seconds: float = 60.0,
    pull: float = 0.8,
    memory: int = 48,
) -> float:
    """A mean-reverting random walk around ``base`` that takes one step per ``step_seconds``.

    Each step keeps ``pull`` of the previous deviation and adds seeded noise, so the value
    wanders but stays near ``base`` (stationary spread ``sigma / sqrt(1 - pull²)``). Only the
    last ``memory`` steps matter (0.8**48 ≈ 2e-5), so any instant is computed directly.
    """
    n = math.floor(at.timestamp() / step_seconds)
    deviation = 0.0
    for k in range(n - memory, n + 1):
        deviation = pull * deviation + sigma * _noise(seed, stream, k)
    return base + deviation


def ramp(since: datetime | None, now: datetime, over_seconds: float) -> float:
    """How far a change that started at ``since`` has progressed: 0 → 1 over ``over_seconds``."""
    if since is None:
        return 1.0
    if over_seconds <= 0:
        return 1.0
    elapsed = (now - since).total_seconds()
    return min(1.0, max(0.0, elapsed / over_seconds))


def last_daily(now: datetime, hour: int, minute: int, second: int = 0) -> datetime:
    """The latest daily run at hh:mm:ss UTC that is not after ``now``: a nightly job's finish."""
    now = now.astimezone(UTC)
    today = now.replace(hour=hour, minute=minute, second=second, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


def seeded_int(seed: int, stream: str, low: int, high: int) -> int:
    return random.Random(f"{seed}:{stream}").randint(low, high)
